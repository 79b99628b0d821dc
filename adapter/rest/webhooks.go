package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// webhookBody is the public view of a webhook; Secret only in the answer
// to its creation.
type webhookBody struct {
	ID        string             `json:"id"`
	URL       string             `json:"url"`
	Events    []domain.EventType `json:"events"`
	Secret    string             `json:"secret,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
}

func newWebhookBody(w *domain.Webhook, withSecret bool) webhookBody {
	b := webhookBody{ID: w.ID, URL: w.URL, Events: w.Events, CreatedAt: w.CreatedAt.UTC()}
	if b.Events == nil {
		b.Events = []domain.EventType{}
	}
	if withSecret {
		b.Secret = w.Secret
	}
	return b
}

// createWebhook is POST /admin/webhooks {"url","events"?}.
func (s *Server) createWebhook(c echo.Context) error {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.URL == "" {
		return badRequest("url is required")
	}
	w, err := s.d.Webhooks.Create(c.Request().Context(), usecase.WebhookInput{URL: in.URL, Events: in.Events})
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusCreated, newWebhookBody(w, true))
}

// listWebhooks is GET /admin/webhooks: never the secrets.
func (s *Server) listWebhooks(c echo.Context) error {
	hooks, err := s.d.Webhooks.List(c.Request().Context())
	if err != nil {
		return err
	}
	out := struct {
		Webhooks []webhookBody `json:"webhooks"`
	}{Webhooks: make([]webhookBody, 0, len(hooks))}
	for i := range hooks {
		out.Webhooks = append(out.Webhooks, newWebhookBody(&hooks[i], false))
	}
	return problem.JSON(c, http.StatusOK, out)
}

// deleteWebhook is DELETE /admin/webhooks/:id; its pending deliveries go
// with it.
func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.d.Webhooks.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// deliveryBody is one delivery of GET /admin/webhooks/:id/deliveries.
type deliveryBody struct {
	EventID        string                `json:"event_id"`
	Status         domain.DeliveryStatus `json:"status"`
	Attempts       int                   `json:"attempts"`
	LastStatusCode *int                  `json:"last_status_code"`
	LastError      string                `json:"last_error,omitempty"`
	NextAttemptAt  *time.Time            `json:"next_attempt_at"`
}

// listDeliveries is GET /admin/webhooks/:id/deliveries?limit=, newest
// event first. next_attempt_at is null once the delivery is settled.
func (s *Server) listDeliveries(c echo.Context) error {
	limit := usecase.RequestedLimit(c.QueryParam("limit"))
	ds, err := s.d.Webhooks.Deliveries(c.Request().Context(), c.Param("id"), limit)
	if err != nil {
		return err
	}
	out := struct {
		Deliveries []deliveryBody `json:"deliveries"`
	}{Deliveries: make([]deliveryBody, 0, len(ds))}
	for _, d := range ds {
		b := deliveryBody{EventID: d.EventID, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError}
		if d.LastStatusCode != 0 {
			code := d.LastStatusCode
			b.LastStatusCode = &code
		}
		if d.Status == domain.DeliveryPending {
			next := d.NextAttemptAt.UTC()
			b.NextAttemptAt = &next
		}
		out.Deliveries = append(out.Deliveries, b)
	}
	return problem.JSON(c, http.StatusOK, out)
}

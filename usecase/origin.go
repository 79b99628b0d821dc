package usecase

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Origin is where a request came from and who made it: what every auth
// event records besides its own facts. The HTTP adapter sets it for each
// request (the caller's actor where it knows one, the client address,
// User-Agent and request id); the CLI sets the actor {cli}.
type Origin struct {
	Actor     domain.Actor
	IP        string
	UserAgent string
	RequestID string
}

// originKey is the context key of the Origin.
type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// WithActor returns ctx whose Origin names a as the actor, keeping the rest
// of the Origin (the guard knows the caller only once the token is
// checked).
func WithActor(ctx context.Context, a domain.Actor) context.Context {
	o := OriginFrom(ctx)
	o.Actor = a
	return WithOrigin(ctx, o)
}

// OriginFrom returns the Origin carried by ctx, or the zero Origin.
func OriginFrom(ctx context.Context) Origin {
	o, _ := originFrom(ctx)
	return o
}

func originFrom(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}

// systemActor is Gatehouse itself.
var systemActor = domain.Actor{Type: domain.ActorSystem}

// selfActor is the actor of a self-service flow of userID (a user acting
// on their own account, or a login attempt on it).
func selfActor(userID string) domain.Actor {
	return domain.Actor{Type: domain.ActorUser, ID: userID}
}

// newEvent builds an auth event of type t about userID (may be "") at
// at, from the Origin in ctx: a new time-ordered id, the time, and the
// origin's address, User-Agent and request id. The actor is the origin's;
// when the origin names none it is self (a self-service flow passes
// selfActor, others the zero Actor), and failing that, or when ctx carries
// no origin at all, Gatehouse itself ({system}).
func newEvent(ctx context.Context, at time.Time, t domain.EventType, userID string, self domain.Actor) domain.Event {
	at = at.UTC().Truncate(time.Microsecond)
	o, ok := originFrom(ctx)
	actor := o.Actor
	switch {
	case !ok:
		actor = systemActor
	case actor.Type == "" && self.Type != "":
		actor = self
	case actor.Type == "":
		actor = systemActor
	}
	return domain.Event{
		ID:        newID(at),
		Time:      at,
		Type:      t,
		UserID:    userID,
		Actor:     actor,
		IP:        o.IP,
		UserAgent: domain.TruncateUserAgent(o.UserAgent),
		RequestID: truncateRequestID(o.RequestID),
	}
}

// requestIDMax bounds the request id an event keeps: it may come from a
// client's X-Request-Id header.
const requestIDMax = 128

func truncateRequestID(id string) string {
	if len(id) > requestIDMax {
		return strings.ToValidUTF8(id[:requestIDMax], "")
	}
	return id
}

// countWritten reports committed events to m, one call per run of events
// of the same type.
func countWritten(m Metrics, events []domain.Event) {
	for i := 0; i < len(events); {
		j := i + 1
		for j < len(events) && events[j].Type == events[i].Type {
			j++
		}
		m.EventsWritten(events[i].Type, j-i)
		i = j
	}
}

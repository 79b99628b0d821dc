package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func testClients(t *testing.T, newStores factory) {
	t.Run("create, get, list, delete", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		c2 := &domain.Client{ID: "c0002", Name: "billing", SecretHash: hash("secret-2"), Scopes: []string{"read", "write"}, CreatedAt: elsewhere(at(time.Hour))}
		c1 := &domain.Client{ID: "c0001", Name: "reports", SecretHash: hash("secret-1"), CreatedAt: at(2 * time.Hour)}
		covers(t, c2)
		for _, c := range []*domain.Client{c2, c1} {
			testkit.WantErr(t, fmt.Sprintf("CreateClient(%q)", c.ID), s.CreateClient(ctx(t), c, nil), nil)
		}
		c2.Scopes[0] = "mutated after create"
		c2.Scopes[0] = "read"

		got, err := s.ClientByID(ctx(t), "c0002")
		testkit.WantErr(t, "ClientByID", err, nil)
		if d := mismatch(got, c2); d != "" {
			t.Errorf("ClientByID (-want +got):\n%s", d)
		}
		got.Scopes[0] = "mutated"
		list, err := s.ListClients(ctx(t))
		testkit.WantErr(t, "ListClients", err, nil)
		if d := mismatch(list, []domain.Client{*c1, *c2}); d != "" {
			t.Errorf("ListClients (want id order, -want +got):\n%s", d)
		}

		testkit.WantErr(t, "DeleteClient", s.DeleteClient(ctx(t), "c0001", nil), nil)
		_, err = s.ClientByID(ctx(t), "c0001")
		testkit.WantErr(t, "ClientByID(deleted)", err, domain.ErrNotFound)
		testkit.WantErr(t, "DeleteClient(again)", s.DeleteClient(ctx(t), "c0001", nil), domain.ErrNotFound)
		list, err = s.ListClients(ctx(t))
		testkit.WantErr(t, "ListClients", err, nil)
		if len(list) != 1 || list[0].ID != "c0002" {
			t.Fatalf("ListClients after delete = %+v; want only c0002", list)
		}
	})

	t.Run("unknown client is ErrNotFound, duplicate ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		_, err := s.ClientByID(ctx(t), "c0404")
		testkit.WantErr(t, "ClientByID(unknown)", err, domain.ErrNotFound)
		list, err := s.ListClients(ctx(t))
		testkit.WantErr(t, "ListClients(empty)", err, nil)
		if len(list) != 0 {
			t.Fatalf("ListClients on empty store = %+v; want none", list)
		}
		c := &domain.Client{ID: "c0001", Name: "a", SecretHash: hash("a"), CreatedAt: at(0)}
		testkit.WantErr(t, "CreateClient", s.CreateClient(ctx(t), c, nil), nil)
		dup := &domain.Client{ID: "c0001", Name: "b", SecretHash: hash("b"), CreatedAt: at(0)}
		testkit.WantErr(t, "CreateClient(duplicate)", s.CreateClient(ctx(t), dup, nil), domain.ErrConflict)
		got, err := s.ClientByID(ctx(t), "c0001")
		testkit.WantErr(t, "ClientByID", err, nil)
		if got.Name != "a" {
			t.Fatalf("duplicate CreateClient overwrote the client: name %q", got.Name)
		}
	})
}

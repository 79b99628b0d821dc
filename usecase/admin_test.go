package usecase

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestUsersList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var want []string
	for i := range 7 {
		want = append(want, e.addUser(fmt.Sprintf("user%d", i), "a fine password").ID)
		e.clock.Advance(time.Millisecond) // ids are time-ordered
	}
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := e.users.List(e.ctx, cursor, 3)
		testkit.WantErr(t, fmt.Sprintf("List(%q, 3)", cursor), err, nil)
		pages++
		if len(page) > 3 {
			t.Fatalf("List(%q, 3) returned %d users; want at most 3", cursor, len(page))
		}
		for _, u := range page {
			got = append(got, u.ID)
		}
		if next == "" {
			break
		}
		if next != page[len(page)-1].ID {
			t.Fatalf("List(%q, 3) next cursor = %q; want the last id %q", cursor, next, page[len(page)-1].ID)
		}
		if pages > 10 {
			t.Fatal("List never returned an empty cursor")
		}
		cursor = next
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("List in pages of 3 = %q in %d pages; want %q in 3 pages", got, pages, want)
	}

	// A page that ends exactly at the last user has no next cursor.
	page, next, err := e.users.List(e.ctx, want[0], 6)
	testkit.WantErr(t, "List(after first, 6)", err, nil)
	if len(page) != 6 || next != "" {
		t.Errorf("List(after first, 6) = %d users, next %q; want 6, \"\"", len(page), next)
	}
	// No limit is the default page; an out-of-range one is refused, not
	// silently changed.
	page, next, err = e.users.List(e.ctx, "", 0)
	testkit.WantErr(t, "List(0)", err, nil)
	if len(page) != 7 || next != "" {
		t.Errorf("List(\"\", 0) = %d users, next %q; want all 7", len(page), next)
	}
	for _, limit := range []int{-1, 501, math.MaxInt} {
		page, _, err := e.users.List(e.ctx, "", limit)
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Code != "invalid_request" || page != nil {
			t.Errorf("List(%d) = %d users, %v; want invalid_request", limit, len(page), err)
		}
	}
}

func TestUsersGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	for _, tt := range []struct {
		ref    string
		byName bool
		want   error
	}{
		{u.ID, false, nil},
		{"alice", true, nil},
		{"ALICE", true, nil},
		{"nobody", true, domain.ErrNotFound},
		{"x", true, domain.ErrNotFound},
		{"no-such-id", false, domain.ErrNotFound},
	} {
		got, err := e.users.Get(e.ctx, tt.ref, tt.byName)
		testkit.WantErr(t, fmt.Sprintf("Get(%q, %v)", tt.ref, tt.byName), err, tt.want)
		if tt.want == nil && got.ID != u.ID {
			t.Errorf("Get(%q, %v) = %s; want %s", tt.ref, tt.byName, got.ID, u.ID)
		}
	}
}

func TestUsersUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	s1 := e.signIn("alice", "alice's password")
	s2 := e.signIn("alice", "alice's password")
	yes, no := true, false

	// A role change is a credential change: every session ends, so no
	// token keeps the old roles.
	roles := []string{"admin", "billing:read"}
	got, err := e.users.Update(e.ctx, u.ID, UserPatch{Roles: &roles})
	testkit.WantErr(t, "Update(roles)", err, nil)
	if !slices.Equal(got.Roles, roles) || got.Disabled || got.Stamp != u.Stamp+1 {
		t.Errorf("Update(roles) = %+v; want roles %q, enabled, stamp %d", got, roles, u.Stamp+1)
	}
	e.wantRevoked(s1.SessionID, []string{s1.RefreshToken}, []string{s1.AccessToken})
	e.wantRevoked(s2.SessionID, []string{s2.RefreshToken}, []string{s2.AccessToken})
	// The same roles again change nothing and end nothing.
	s1 = e.signIn("alice", "alice's password")
	same := slices.Clone(roles)
	if got, err = e.users.Update(e.ctx, u.ID, UserPatch{Roles: &same, Disabled: &no}); err != nil || got.Stamp != u.Stamp+1 {
		t.Errorf("Update(same roles) = %+v, %v; want unchanged stamp %d", got, err, u.Stamp+1)
	}
	e.mustRefresh(s1.RefreshToken)
	s1 = e.signIn("alice", "alice's password")
	s2 = e.signIn("alice", "alice's password")
	bad := []string{"Admin"}
	var ve *domain.ValidationError
	if _, err := e.users.Update(e.ctx, u.ID, UserPatch{Disabled: &yes, Roles: &bad}); !errors.As(err, &ve) {
		t.Errorf("Update(bad role) = %v; want ValidationError", err)
	}
	if stored, _ := e.store.UserByID(e.ctx, u.ID); stored.Disabled || !slices.Equal(stored.Roles, roles) {
		t.Errorf("stored user after refused Update = %+v; want unchanged", stored)
	}
	_, err = e.users.Update(e.ctx, "no-such-id", UserPatch{Disabled: &yes})
	testkit.WantErr(t, "Update(unknown)", err, domain.ErrNotFound)

	// Disabling revokes every session.
	got, err = e.users.Update(e.ctx, u.ID, UserPatch{Disabled: &yes})
	testkit.WantErr(t, "Update(disable)", err, nil)
	if !got.Disabled {
		t.Errorf("Update(disable).Disabled = false")
	}
	e.wantRevoked(s1.SessionID, []string{s1.RefreshToken}, []string{s1.AccessToken})
	e.wantRevoked(s2.SessionID, []string{s2.RefreshToken}, []string{s2.AccessToken})
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(disabled)", err, domain.ErrInvalidCredentials)

	// Enabling again lets the user log in; old sessions stay dead.
	_, err = e.users.Update(e.ctx, u.ID, UserPatch{Disabled: &no})
	testkit.WantErr(t, "Update(enable)", err, nil)
	s3 := e.signIn("alice", "alice's password")
	_, err = e.refresh.Refresh(e.ctx, s1.RefreshToken)
	testkit.WantErr(t, "Refresh(session from before disable)", err, domain.ErrInvalidGrant)
	e.mustRefresh(s3.RefreshToken)
}

func TestUsersSetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	s := e.signIn("alice", "alice's password")

	var ve *domain.ValidationError
	if err := e.users.SetPassword(e.ctx, u.ID, "short"); !errors.As(err, &ve) || ve.Code != "weak_password" {
		t.Errorf("SetPassword(short) = %v; want weak_password", err)
	}
	if e.revoked.Revoked(s.SessionID) {
		t.Errorf("refused SetPassword revoked the session")
	}
	testkit.WantErr(t, "SetPassword(unknown)", e.users.SetPassword(e.ctx, "no-such-id", "a fine password"), domain.ErrNotFound)

	testkit.WantErr(t, "SetPassword", e.users.SetPassword(e.ctx, u.ID, "a brand new password"), nil)
	if got, _ := e.store.UserByID(e.ctx, u.ID); got.PasswordHash != "h:a brand new password" {
		t.Errorf("PasswordHash after SetPassword = %q; want %q", got.PasswordHash, "h:a brand new password")
	}
	e.wantRevoked(s.SessionID, []string{s.RefreshToken}, []string{s.AccessToken})
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(old password)", err, domain.ErrInvalidCredentials)
	e.signIn("alice", "a brand new password")
}

func TestUsersDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	e.addUser("bob", "bob's password")
	s := e.signIn("alice", "alice's password")
	b := e.signIn("bob", "bob's password")

	testkit.WantErr(t, "Delete", e.users.Delete(e.ctx, u.ID), nil)
	if _, err := e.store.UserByID(e.ctx, u.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("UserByID after Delete = %v; want ErrNotFound", err)
	}
	if !e.revoked.Revoked(s.SessionID) {
		t.Errorf("Revoked(deleted user's session) = false; want true")
	}
	testkit.WantErr(t, "Verify(deleted user's token)", errOf(e.verify.Verify(e.ctx, s.AccessToken)), domain.ErrTokenRevoked)
	_, err := e.refresh.Refresh(e.ctx, s.RefreshToken)
	testkit.WantErr(t, "Refresh(deleted user)", err, domain.ErrInvalidGrant)
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.9"})
	testkit.WantErr(t, "Login(deleted user)", err, domain.ErrInvalidCredentials)
	testkit.WantErr(t, "Delete(again)", e.users.Delete(e.ctx, u.ID), domain.ErrNotFound)

	if e.revoked.Revoked(b.SessionID) {
		t.Errorf("deleting alice revoked bob's session")
	}
	e.mustRefresh(b.RefreshToken)
	// The name is free again.
	e.addUser("alice", "a new alice's password")
}

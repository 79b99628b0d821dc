package domain

import (
	"context"
	"time"
)

// Auth events and state changes: every store method that changes a
// credential takes the auth events that record the change and commits them
// in the change's own transaction (nothing when there are none), together
// with one outbox Delivery per event and per webhook that wants its type.
// A change that fails or changes nothing writes none of its events.

// UserStore persists users. Usernames are unique after normalisation.
// Every store implements all of it; each use case takes only the part it
// uses (the ports below it).
type UserStore interface {
	UserCreator
	UserUpdater
	UserDeleter
	// ListUsers returns up to limit users with IDs greater than after, in
	// ID order (IDs are time-ordered, so this is creation order).
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
}

// UserCreator stores new users (Register).
type UserCreator interface {
	// CreateUser stores u with events; ErrUsernameTaken if the username
	// is in use.
	CreateUser(ctx context.Context, u *User, events []Event) error
}

// UserReader finds users.
type UserReader interface {
	// UserByID returns the user or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUsername returns the user with the normalised username or
	// ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
}

// UserChanger applies credential and account changes (Revoke).
type UserChanger interface {
	// ChangeUser applies ch atomically: the fields it sets, the stamp and
	// the session revocations of a credential change, the API key
	// revocations of ch.RevokeAPIKeys and ch.Events, in one transaction. It returns the
	// user as changed and the revocation ids of the sessions and keys it
	// revoked (session ids and APIKey.RevocationID). ErrNotFound if the user is gone, ErrConflict if ch.IfStamp
	// is set and no longer the user's stamp.
	ChangeUser(ctx context.Context, ch UserChange) (*User, []string, error)
}

// UserUpdater reads a user and writes a change decided on what it read
// (Login's hash upgrade, Account's password change).
type UserUpdater interface {
	UserReader
	UserChanger
}

// UserDeleter deletes users (Revoke).
type UserDeleter interface {
	// DeleteUser removes the user d.ID with its sessions and API keys,
	// revoking the live ones (feed entries expiring at d.FeedExpires) and
	// writing d.Events in the same transaction, and returns their
	// revocation ids (session ids and APIKey.RevocationID); ErrNotFound if
	// absent. The user's past events stay.
	DeleteUser(ctx context.Context, d UserDeletion) ([]string, error)
}

// SessionStore persists sessions, the hashes of their refresh tokens and the
// revocation feed. Every store implements all of it; each use case takes
// only the part it uses (the ports below it).
type SessionStore interface {
	SessionCreator
	SessionLister
	RefreshStore
	RevokeStore
	RevocationFeed
}

// SessionLister lists a user's devices (usecase.Sessions).
type SessionLister interface {
	// ListSessions returns the user's live sessions (not revoked, ExpiresAt
	// after now), newest first (CreatedAt, then ID, descending).
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
}

// SessionCreator opens sessions (Login).
type SessionCreator interface {
	// CreateSession stores s together with its first refresh token, only
	// while s's user exists, is enabled and still has the stamp
	// s.UserStamp: the check and the insert are one atomic step against
	// ChangeUser and DeleteUser. ErrConflict if the user changed or is
	// disabled, ErrNotFound if it is gone.
	CreateSession(ctx context.Context, s *Session, first RefreshToken) error
}

// GrantReader reads what a refresh token stands for (Introspect, Refresh).
type GrantReader interface {
	// RefreshGrant returns the token record with hash together with its
	// session and the session's user, read in one round trip (the
	// refresh_token grant needs all three on every request). ErrNotFound if
	// the token, its session or the user is missing. Revoked or expired
	// sessions and disabled users are returned as they are: judging them is
	// the caller's business.
	RefreshGrant(ctx context.Context, hash []byte) (*RefreshGrant, error)
}

// SessionRevoker ends sessions (Revoke, and Refresh on reuse).
type SessionRevoker interface {
	// RevokeSessions revokes the live sessions selected by r, appends one
	// feed entry per revoked session and, when it revoked any, r.Events in
	// the same transaction, and returns their IDs.
	RevokeSessions(ctx context.Context, r SessionRevocation) ([]string, error)
}

// RefreshStore rotates refresh tokens (Refresh).
type RefreshStore interface {
	GrantReader
	SessionRevoker
	// SessionByID returns the session or ErrNotFound.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// RotateRefreshToken atomically moves the session from
	// r.FromGeneration to the next generation and records r.NewHash. It
	// returns ErrConflict if the session is revoked or no longer at
	// r.FromGeneration (another request won), or if its user is disabled
	// or no longer has the session's UserStamp; ErrNotFound if it is gone.
	RotateRefreshToken(ctx context.Context, r Rotation) error
}

// RevokeStore ends sessions by selection or by refresh token, and deletes
// the ended ones (Revoke).
type RevokeStore interface {
	SessionRevoker
	// RefreshTokenByHash returns the issued token record or ErrNotFound.
	RefreshTokenByHash(ctx context.Context, hash []byte) (*RefreshToken, error)
	// PruneSessions deletes every session whose ExpiresAt is not after
	// before, revoked or not, together with all of its refresh-token
	// records, and returns how many sessions it deleted. A session and its
	// tokens go in one transaction; a large backlog may be split into
	// several. Feed entries stay: they refer to session ids only and expire
	// on their own, and revoking a deleted session selects nothing.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)
}

// RevocationFeed is the store's log of revoked sessions (RevocationList).
type RevocationFeed interface {
	// RevocationsSince returns up to limit feed entries with Seq > after
	// and Expires after now, in Seq order.
	RevocationsSince(ctx context.Context, after int64, now time.Time, limit int) ([]Revocation, error)
	// PruneRevocations deletes feed entries that expired before t.
	PruneRevocations(ctx context.Context, t time.Time) error
}

// APIKeyStore persists API keys (usecase.APIKeys). Every store implements
// all of it. Revocations of keys go to the same feed as sessions', under
// the key's RevocationID, so every replica and the guard learn them alike.
type APIKeyStore interface {
	APIKeyReader
	APIKeyToucher
	// CreateAPIKey stores k only while its user exists, is enabled and
	// holds fewer than max live keys (neither revoked nor expired at
	// k.CreatedAt): the count and the insert are one atomic step, so of N
	// concurrent creations no more than max keys are ever live.
	// ErrTooManyAPIKeys at the limit, ErrNotFound if the user is gone,
	// ErrConflict if it is disabled or the id or hash is taken. events
	// commit with the key.
	CreateAPIKey(ctx context.Context, k *APIKey, max int, events []Event) error
	// APIKeyByID returns the key or ErrNotFound.
	APIKeyByID(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns every key of the user, revoked and expired ones
	// included, newest first.
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// RevokeAPIKey revokes the key r.ID (only if it belongs to r.UserID
	// when that is set) and appends its feed entry and r.Events, in one
	// transaction,
	// and reports whether this call revoked it: a key already revoked is
	// left as it is and fed no second time (false). ErrNotFound if there
	// is no such key (or it is another user's).
	RevokeAPIKey(ctx context.Context, r APIKeyRevocation) (bool, error)
	// PruneAPIKeys deletes the keys that expired, or were revoked, at or
	// before before, and returns how many went. Their feed entries stay.
	PruneAPIKeys(ctx context.Context, before time.Time) (int64, error)
}

// APIKeyReader finds a presented key (usecase.APIKeys.Authenticate): one
// indexed read.
type APIKeyReader interface {
	// APIKeyGrant returns the key with hash and its user, read in one
	// round trip; ErrNotFound if either is missing. Revoked or expired keys
	// and disabled users are returned as they are.
	APIKeyGrant(ctx context.Context, hash []byte) (*APIKeyGrant, error)
}

// APIKeyToucher records when keys were used.
type APIKeyToucher interface {
	// TouchAPIKey sets the key's LastUsedAt to at, only if it is not
	// revoked and was last used before at-every (or never): a conditional
	// write, so replicas together write at most once per key per every.
	// It reports whether it wrote.
	TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) (bool, error)
}

// EventStore keeps the auth events (usecase.EventLog, usecase.Events).
type EventStore interface {
	EventAppender
	EventReader
	// PruneEvents deletes the events whose Time is before before, with
	// their deliveries, and returns how many events it deleted. A large
	// backlog may be split into several transactions.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// EventAppender writes events that record no state change of their own
// (login events), in batches.
type EventAppender interface {
	// AppendEvents writes events and their deliveries in one transaction.
	AppendEvents(ctx context.Context, events []Event) error
}

// EventReader reads events.
type EventReader interface {
	// ListEvents returns up to q.Limit events selected by q, newest first
	// (ID descending).
	ListEvents(ctx context.Context, q EventQuery) ([]Event, error)
}

// WebhookStore keeps webhooks and their outbox (usecase.Webhooks).
type WebhookStore interface {
	Outbox
	// CreateWebhook stores w while fewer than max webhooks exist (the count
	// and the insert one atomic step); ErrTooManyWebhooks at the limit.
	// Events written after it commits get deliveries to it; earlier ones
	// do not.
	CreateWebhook(ctx context.Context, w *Webhook, max int) error
	// ListWebhooks returns every webhook, oldest first.
	ListWebhooks(ctx context.Context) ([]Webhook, error)
	// DeleteWebhook removes the webhook and its deliveries, pending ones
	// included; ErrNotFound if absent.
	DeleteWebhook(ctx context.Context, id string) error
	// ListDeliveries returns up to limit deliveries of the webhook, newest
	// event first; ErrNotFound if there is no such webhook.
	ListDeliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error)
}

// Outbox hands due deliveries to the replicas that send them
// (usecase.Dispatcher).
type Outbox interface {
	// ClaimDeliveries claims up to c.Limit due deliveries (pending,
	// NextAttemptAt not after c.Now, no claim holding at c.Now), oldest
	// NextAttemptAt first, marking each with c.Token until c.Now+c.Lease,
	// and returns them with their webhook and event. Concurrent claims,
	// from any replica, never return the same delivery while a claim on it
	// holds (on Postgres, FOR UPDATE SKIP LOCKED).
	ClaimDeliveries(ctx context.Context, c DeliveryClaim) ([]DeliveryJob, error)
	// FinishDelivery records the attempt r of a delivery claimed with
	// r.Claim (Attempts one more, the status, code, error and next
	// attempt) and releases the claim. ErrConflict if the claim is no
	// longer r.Claim (it lapsed and another replica claimed the
	// delivery); ErrNotFound if the delivery is gone.
	FinishDelivery(ctx context.Context, r DeliveryResult) error
	// OutboxStats counts the pending deliveries.
	OutboxStats(ctx context.Context) (OutboxStats, error)
}

// MFAStore keeps second factors and the logins waiting for one
// (usecase.MFA). Turning MFA on or off is a UserChange (UserChange.MFA).
type MFAStore interface {
	// PutPendingTOTP stores t as the user's pending (unconfirmed) factor,
	// replacing a pending one; ErrMFAAlreadyEnabled if the user has a
	// confirmed one, ErrNotFound if the user is gone.
	PutPendingTOTP(ctx context.Context, t *TOTP) error
	// TOTPOf returns the user's factor, pending or confirmed, or
	// ErrNotFound.
	TOTPOf(ctx context.Context, userID string) (*TOTP, error)
	// UseTOTPStep records step as the user's last accepted step only if it
	// is later than the stored one: one atomic conditional write, so of
	// concurrent uses of one code exactly one gets true. False (no error)
	// for a replay; ErrNotFound if the user has no factor.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode marks the user's unused recovery code with hash used
	// at at and writes events, in one transaction; false (no error) when
	// no unused code matches. Of concurrent uses of one code exactly one
	// gets true.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time, events []Event) (bool, error)
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	// CreateMFAToken stores t.
	CreateMFAToken(ctx context.Context, t *MFAToken) error
	// MFATokenByHash returns the token with hash or ErrNotFound.
	MFATokenByHash(ctx context.Context, hash []byte) (*MFAToken, error)
	// FailMFAToken counts one wrong code on the token with hash and
	// returns its failures after it (atomic increment). ErrNotFound if
	// absent.
	FailMFAToken(ctx context.Context, hash []byte) (int, error)
	// ConsumeMFAToken marks the token used at now only if it is live then
	// (MFAToken.Live): of concurrent calls exactly one gets true.
	ConsumeMFAToken(ctx context.Context, hash []byte, now time.Time) (bool, error)
	// PruneMFATokens deletes the tokens that expired before before.
	PruneMFATokens(ctx context.Context, before time.Time) (int64, error)
}

// SecretBox seals secrets the store keeps but must not hold in the clear
// when a key-encryption key is configured (TOTP secrets). Without one it
// passes them through. Seal binds the sealed bytes to label (a user id),
// so they cannot be moved to another record.
type SecretBox interface {
	Seal(plain []byte, label string) ([]byte, error)
	Open(sealed []byte, label string) ([]byte, error)
}

// ClientStore persists machine clients.
type ClientStore interface {
	// CreateClient stores c with events.
	CreateClient(ctx context.Context, c *Client, events []Event) error
	// ClientByID returns the client or ErrNotFound.
	ClientByID(ctx context.Context, id string) (*Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes the client with events; ErrNotFound if absent.
	DeleteClient(ctx context.Context, id string, events []Event) error
}

// KeyStore persists signing keys.
type KeyStore interface {
	// ListKeys returns every stored key, newest first.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// RotateKey retires every active key at k.CreatedAt and stores k as the
	// only active one, with events, in one transaction.
	RotateKey(ctx context.Context, k *SigningKey, events []Event) error
	// DeleteKey removes a retired key; ErrNotFound if absent.
	DeleteKey(ctx context.Context, id string) error
}

// Store is everything a complete storage backend implements. The memory
// and GORM stores provide it, and the contract suite in
// adapter/storage/storagetest holds every implementation to it.
type Store interface {
	UserStore
	SessionStore
	ClientStore
	KeyStore
	AttemptStore
	APIKeyStore
	EventStore
	WebhookStore
	MFAStore
}

// PasswordHasher turns a password into a stored hash string and checks one.
type PasswordHasher interface {
	// Hash returns the encoded hash of password. It returns ErrOverloaded
	// when the hashing queue is full.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches stored, and whether stored
	// should be replaced by a fresh Hash (old parameters or algorithm).
	Verify(ctx context.Context, stored, password string) (ok, rehash bool, err error)
}

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	// Issue encodes and signs c; iss, aud, typ and kid are the issuer's.
	Issue(ctx context.Context, c Claims) (string, error)
}

// TokenVerifier checks access tokens.
type TokenVerifier interface {
	// Verify checks the signature and every registered claim and returns
	// the claims, or ErrTokenExpired / ErrTokenInvalid.
	Verify(ctx context.Context, token string) (*Claims, error)
}

// KeyManager generates and rotates signing keys.
type KeyManager interface {
	// Rotate makes a newly generated key the active signing key and returns
	// its kid. When event.Type is set, event commits with the rotation,
	// its Details.Kid and Details.Alg filled in with the new key's.
	Rotate(ctx context.Context, event Event) (string, error)
	// Keys lists the known keys, newest first.
	Keys(ctx context.Context) ([]SigningKey, error)
}

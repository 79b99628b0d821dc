package gormstore

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Row structs mirror the tables created by the migrations in
// infrastructure/database. Nullable times are pointers (nil <-> zero time),
// lists are JSON text, times are written in UTC: SQLite keeps them as text
// and compares them as text.

type userRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	Username     string    `gorm:"column:username"`
	PasswordHash string    `gorm:"column:password_hash"`
	Roles        string    `gorm:"column:roles"`
	Disabled     bool      `gorm:"column:disabled"`
	MFAEnabled   bool      `gorm:"column:mfa_enabled"`
	Stamp        int64     `gorm:"column:stamp"`
	CreatedAt    time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt    time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (userRow) TableName() string { return "users" }

type clientRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	Name       string    `gorm:"column:name"`
	SecretHash []byte    `gorm:"column:secret_hash"`
	Scopes     string    `gorm:"column:scopes"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (clientRow) TableName() string { return "clients" }

type sessionRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	UserID          string     `gorm:"column:user_id"`
	UserStamp       int64      `gorm:"column:user_stamp"`
	Scope           string     `gorm:"column:scope"`
	CreatedAt       time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt       time.Time  `gorm:"column:expires_at"`
	Generation      int64      `gorm:"column:generation"`
	RotatedAt       *time.Time `gorm:"column:rotated_at"`
	SealedSuccessor []byte     `gorm:"column:sealed_successor"`
	RevokedAt       *time.Time `gorm:"column:revoked_at"`
	LastUsedAt      *time.Time `gorm:"column:last_used_at"`
	IP              string     `gorm:"column:ip"`
	UserAgent       string     `gorm:"column:user_agent"`
	AMR             string     `gorm:"column:amr"`
	ACR             string     `gorm:"column:acr"`
}

func (sessionRow) TableName() string { return "sessions" }

type refreshTokenRow struct {
	Hash       []byte    `gorm:"column:hash;primaryKey"`
	SessionID  string    `gorm:"column:session_id"`
	Generation int64     `gorm:"column:generation"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

// refreshGrantRow is one row of the refresh-grant join (sessions.go): a
// refresh token, its session and the session's user.
type refreshGrantRow struct {
	Token   refreshTokenRow
	Session sessionRow
	User    userRow
}

type revocationRow struct {
	Seq       int64     `gorm:"column:seq;primaryKey;autoIncrement"`
	SessionID string    `gorm:"column:session_id"`
	UserID    string    `gorm:"column:user_id"`
	At        time.Time `gorm:"column:at"`
	Expires   time.Time `gorm:"column:expires"`
}

func (revocationRow) TableName() string { return "revocations" }

type keyRow struct {
	ID        string     `gorm:"column:id;primaryKey"`
	Algorithm string     `gorm:"column:algorithm"`
	Private   []byte     `gorm:"column:private"`
	CreatedAt time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	RetiredAt *time.Time `gorm:"column:retired_at"`
}

func (keyRow) TableName() string { return "signing_keys" }

// utc normalises a time for storage.
func utc(t time.Time) time.Time { return t.UTC() }

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// fromNull maps NULL to the zero time.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// encodeList stores a list as JSON text; nil and empty both become "[]".
func encodeList(ss []string) (string, error) {
	if len(ss) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ss)
	return string(b), err
}

// decodeList reads a JSON list column; empty becomes nil.
func decodeList(s string) ([]string, error) {
	var out []string
	if s == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// encodeWords stores a list of words without spaces (amr values) as
// "a b"; nil and empty both become "".
func encodeWords(ws []string) string { return strings.Join(ws, " ") }

// decodeWords reads encodeWords's text; "" becomes nil.
func decodeWords(s string) []string {
	ws := strings.Fields(s)
	if len(ws) == 0 {
		return nil
	}
	return ws
}

// nonEmpty maps an empty byte slice to nil, as the memory store does.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func toUserRow(u *domain.User) (userRow, error) {
	roles, err := encodeList(u.Roles)
	return userRow{
		ID:           u.ID,
		Username:     u.Username,
		PasswordHash: u.PasswordHash,
		Roles:        roles,
		Disabled:     u.Disabled,
		MFAEnabled:   u.MFAEnabled,
		Stamp:        u.Stamp,
		CreatedAt:    utc(u.CreatedAt),
		UpdatedAt:    utc(u.UpdatedAt),
	}, err
}

func (r *userRow) toDomain() (domain.User, error) {
	roles, err := decodeList(r.Roles)
	return domain.User{
		ID:           r.ID,
		Username:     r.Username,
		PasswordHash: r.PasswordHash,
		Roles:        roles,
		Disabled:     r.Disabled,
		MFAEnabled:   r.MFAEnabled,
		Stamp:        r.Stamp,
		CreatedAt:    utc(r.CreatedAt),
		UpdatedAt:    utc(r.UpdatedAt),
	}, err
}

func toClientRow(c *domain.Client) (clientRow, error) {
	scopes, err := encodeList(c.Scopes)
	return clientRow{ID: c.ID, Name: c.Name, SecretHash: c.SecretHash, Scopes: scopes, CreatedAt: utc(c.CreatedAt)}, err
}

func (r *clientRow) toDomain() (domain.Client, error) {
	scopes, err := decodeList(r.Scopes)
	return domain.Client{ID: r.ID, Name: r.Name, SecretHash: nonEmpty(r.SecretHash), Scopes: scopes, CreatedAt: utc(r.CreatedAt)}, err
}

func toSessionRow(s *domain.Session) (sessionRow, error) {
	scope, err := encodeList(s.Scope)
	return sessionRow{
		ID:              s.ID,
		UserID:          s.UserID,
		UserStamp:       s.UserStamp,
		Scope:           scope,
		CreatedAt:       utc(s.CreatedAt),
		ExpiresAt:       utc(s.ExpiresAt),
		Generation:      s.Generation,
		RotatedAt:       nullTime(s.RotatedAt),
		SealedSuccessor: nonEmpty(s.SealedSuccessor),
		RevokedAt:       nullTime(s.RevokedAt),
		LastUsedAt:      nullTime(s.LastUsedAt),
		IP:              s.IP,
		UserAgent:       s.UserAgent,
		AMR:             encodeWords(s.AMR),
		ACR:             s.ACR,
	}, err
}

func (r *sessionRow) toDomain() (domain.Session, error) {
	scope, err := decodeList(r.Scope)
	return domain.Session{
		ID:              r.ID,
		UserID:          r.UserID,
		UserStamp:       r.UserStamp,
		Scope:           scope,
		CreatedAt:       utc(r.CreatedAt),
		ExpiresAt:       utc(r.ExpiresAt),
		Generation:      r.Generation,
		RotatedAt:       fromNull(r.RotatedAt),
		SealedSuccessor: nonEmpty(r.SealedSuccessor),
		RevokedAt:       fromNull(r.RevokedAt),
		LastUsedAt:      fromNull(r.LastUsedAt),
		IP:              r.IP,
		UserAgent:       r.UserAgent,
		AMR:             decodeWords(r.AMR),
		ACR:             r.ACR,
	}, err
}

func (r *refreshTokenRow) toDomain() domain.RefreshToken {
	return domain.RefreshToken{Hash: r.Hash, SessionID: r.SessionID, Generation: r.Generation, CreatedAt: utc(r.CreatedAt)}
}

func (r *refreshGrantRow) toDomain() (domain.RefreshGrant, error) {
	sess, err := r.Session.toDomain()
	if err != nil {
		return domain.RefreshGrant{}, err
	}
	u, err := r.User.toDomain()
	if err != nil {
		return domain.RefreshGrant{}, err
	}
	return domain.RefreshGrant{Token: r.Token.toDomain(), Session: sess, User: u}, nil
}

func (r *revocationRow) toDomain() domain.Revocation {
	return domain.Revocation{Seq: r.Seq, SessionID: r.SessionID, UserID: r.UserID, At: utc(r.At), Expires: utc(r.Expires)}
}

func toKeyRow(k *domain.SigningKey) keyRow {
	return keyRow{ID: k.ID, Algorithm: k.Algorithm, Private: k.Private, CreatedAt: utc(k.CreatedAt), RetiredAt: nullTime(k.RetiredAt)}
}

func (r *keyRow) toDomain() domain.SigningKey {
	return domain.SigningKey{ID: r.ID, Algorithm: r.Algorithm, Private: nonEmpty(r.Private), CreatedAt: utc(r.CreatedAt), RetiredAt: fromNull(r.RetiredAt)}
}

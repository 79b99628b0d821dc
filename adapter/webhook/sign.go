// Package webhook delivers auth events to webhook receivers as the Standard
// Webhooks specification describes (DESIGN.md "Sessions, devices and auth
// events"): it signs each body, posts it, and refuses destinations on
// loopback, private and link-local addresses unless told otherwise. Its
// Sender implements usecase.WebhookSender and usecase.DestinationChecker.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Sign returns the webhook-signature header of a message: "v1," and the
// standard base64 of HMAC-SHA256 over msgID "." Unix seconds of ts "." body,
// keyed with the base64-decoded part of secret after "whsec_". The error
// never repeats the secret.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	encoded, ok := strings.CutPrefix(secret, domain.WebhookSecretPrefix)
	if !ok {
		return "", errors.New("webhook secret does not start with " + domain.WebhookSecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) == 0 {
		return "", errors.New("webhook secret is not a base64 key")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

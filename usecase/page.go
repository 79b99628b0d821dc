package usecase

import (
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Page sizes of GET /admin/users (the feed's is feedPage).
const (
	userPageDefault = 100
	userPageMax     = 500
)

// pageLimit is the one rule for how many items a list answers at once
// (GET /admin/users, the revocation feed): a requested limit of 0 asks for
// def, and one outside 1..most is refused with a *domain.ValidationError
// (invalid_request) rather than silently changed, so a client never
// mistakes a short page for the end.
func pageLimit(n, def, most int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0 || n > most:
		return 0, &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: fmt.Sprintf("limit must be between 1 and %d", most)}
	}
	return n, nil
}

package usecase

import (
	"fmt"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Page sizes of GET /admin/users (the feed's is feedPage).
const (
	userPageDefault = 100
	userPageMax     = 500
)

// RequestedLimit turns a limit as a caller wrote it (a query parameter, ""
// when left out) into what the lists take: 0, the list's default page,
// when left out, else the number. Whatever is no number of at least 1 (0
// included: who writes it does not mean the default) becomes -1, which
// every list refuses with its own bounds, so that every bad limit is
// judged, and answered, by the list alone.
func RequestedLimit(s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return -1
	}
	return n
}

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

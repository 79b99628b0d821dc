package token

import "slices"

// Kids returns the key ids the set currently accepts, sorted.
func (s *RemoteKeySet) Kids() []string {
	m := s.set.Load().keys
	kids := make([]string, 0, len(m))
	for kid := range m {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}

package userfile

// Verifications returns how many password verifications s has made.
func Verifications(s *Store) int64 { return s.verifications.Load() }

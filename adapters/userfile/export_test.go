package userfile

// Verifications returns how many password verifications s has made.
func Verifications(s *Store) int64 { return s.verifications.Load() }

// Hash returns the PHC string of password under p, as the store writes it.
func Hash(p Params, password string) string { return p.hash(password) }

// CommonPasswords returns the number of entries of the embedded list.
func CommonPasswords() int { return len(commonPasswords()) }

package domain

// LedgerCacheSize is the number of units a Ledger keeps state for.
func LedgerCacheSize(l *Ledger) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.cache)
}

package projections

// CheckpointCount is the number of as-of checkpoints l keeps.
func CheckpointCount(l *Live) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.checkpoints)
}

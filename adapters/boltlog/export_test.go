package boltlog

// SetCheckpointEvery lets tests checkpoint often; it returns the old value.
func SetCheckpointEvery(n uint64) uint64 {
	old := checkpointEvery
	checkpointEvery = n
	return old
}

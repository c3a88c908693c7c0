package boltlog

import "os"

// SetCheckpointEvery lets tests checkpoint often; it returns the old value.
func SetCheckpointEvery(n uint64) uint64 {
	old := checkpointEvery
	checkpointEvery = n
	return old
}

// CleanlyClosed reports whether the file at path was last closed by Close
// (its newest meta page has a synced freelist).
func CleanlyClosed(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	m, err := cheapCheck(f)
	return err == nil && cleanMark(f, m), err
}

package esdblog

// Loaded returns how many positions Open took from the checkpoint file.
func Loaded(l *Log) uint64 { return l.loaded }

// CheckpointPath is the checkpoint file of prefix in dir.
func CheckpointPath(dir, prefix string) string { return checkpointPath(dir, prefix) }

//go:build race

package main

// raceDetector: the race detector multiplies a process's memory, so the
// RSS bounds of the hostile-request test do not apply under it.
const raceDetector = true

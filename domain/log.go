package domain

// AppendRequest is one stream's part of an append: the events and the
// revision the stream must be at. Logs that can append several in one
// transaction take a slice of them.
type AppendRequest struct {
	Stream   string
	Expected ExpectedRevision
	Events   []Envelope
}

package standin

// BytesReceived counts the bytes read from every connection, for the keepalive
// test to see the client's pings arrive.
func (s *Server) BytesReceived() int64 { return s.bytesReceived.Load() }

module dispo

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	go.etcd.io/bbolt v1.4.3
)

require (
	github.com/gorilla/mux v1.8.1 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

package standin

import (
	"context"

	featuresapi "github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
)

// featuresService answers the client's probe at connect
// (esdb/impl.go getSupportedMethods). The client turns the methods into
// feature flags; listing only what is implemented keeps it off batch appends
// and persistent subscriptions.
type featuresService struct {
	featuresapi.UnimplementedServerFeaturesServer
	version string
}

func (f *featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*featuresapi.SupportedMethods, error) {
	const streams = "event_store.client.streams.streams"
	return &featuresapi.SupportedMethods{
		EventStoreServerVersion: f.version,
		Methods: []*featuresapi.SupportedMethod{
			{ServiceName: streams, MethodName: "read"},
			{ServiceName: streams, MethodName: "append"},
			{ServiceName: "event_store.client.server_features.serverfeatures", MethodName: "getsupportedmethods"},
		},
	}, nil
}

module pubsub-operator/testbed/pause

go 1.25

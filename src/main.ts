// Entry point of the operator. The controllers are wired in here as they land; until then it
// only tells where the test bed is, so `make run` shows a working environment.
const kubeconfig = process.env['KUBECONFIG'] ?? '(in-cluster or ~/.kube/config)';
const awsEndpoint = process.env['AWS_ENDPOINT_URL'] ?? '(AWS default endpoints)';
console.log(JSON.stringify({ msg: 'pubsub-operator starting', kubeconfig, awsEndpoint }));

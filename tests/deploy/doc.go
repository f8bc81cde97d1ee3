// Package deploy holds tests of the deployment files at the repository root
// and under bicep/: the Dockerfile, azure.yaml and the Bicep templates. They
// read the files with the parsers the tools themselves use.
package deploy

// The dbinit job: `dropoff dbinit` applies the migrations of both databases
// and creates a database user, by SID, for each role's identity, with only
// the rights its role needs. It runs under the identity that is the SQL
// server's Entra administrator, which nothing else carries. azd deploys its
// image like an app's; the postdeploy hook (azure.yaml) starts it and waits.
param location string
param tags object
param name string
param exists bool
param environmentId string
param registryServer string
param identityId string
param env array

resource current 'Microsoft.App/jobs@2025-01-01' existing = if (exists) {
  name: name
}

var placeholder = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'
var image = exists ? current!.properties.template.containers[0].image : placeholder

resource job 'Microsoft.App/jobs@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'dbinit' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      triggerType: 'Manual'
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      // A serverless or paused database may take a minute to answer; dbinit
      // is idempotent, so a retry is safe.
      replicaTimeout: 600
      replicaRetryLimit: 2
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'dbinit'
          image: image
          args: ['dbinit']
          env: env
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
        }
      ]
    }
  }
}

output name string = job.name

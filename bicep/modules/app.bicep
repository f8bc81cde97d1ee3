// One Dropoff role as a container app: the one image, the role in args, its
// own identity for pulling the image and for every Azure connection, and
// probes that keep Service Bus and SQL out of liveness.
param location string
param tags object
param name string

@description('The azd service this app is (azure.yaml); azd finds the app by this tag.')
param serviceName string

@description('Whether the app exists already: then its running image is kept, else a placeholder stands in until azd deploys.')
param exists bool

param environmentId string
param registryServer string

@description('Resource id of the role\'s user-assigned identity.')
param identityId string

@description('Resource id of the KEDA scaler\'s identity, attached for the scale rule only; empty: none.')
param scalerIdentityId string = ''

@description('The role: the dropoff subcommand.')
param args array
param env array

@description('External HTTPS ingress (the two APIs); false: no ingress at all.')
param external bool

param minReplicas int
param maxReplicas int
param scaleRules array = []
param terminationGracePeriodSeconds int = 30
param cpu string = '0.25'
param memory string = '0.5Gi'

@description('OTLP endpoint the app sends its traces to (OTEL_EXPORTER_OTLP_ENDPOINT); empty: the variable is not set, so nothing is exported, unless the environment\'s managed OpenTelemetry agent sets it.')
param otlpEndpoint string = ''

// azd replaces only the image on deploy; a provision must not put the
// placeholder back over it.
resource current 'Microsoft.App/containerApps@2025-01-01' existing = if (exists) {
  name: name
}

var placeholder = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'
var image = exists ? current!.properties.template.containers[0].image : placeholder

var identities = empty(scalerIdentityId) ? [identityId] : [identityId, scalerIdentityId]

// Tracing (docs/observability.md): spans are named for the app's service.
// The endpoint is set only when given: an empty value would override the
// one the Container Apps managed OpenTelemetry agent injects.
var serviceNameEnv = { name: 'OTEL_SERVICE_NAME', value: 'dropoff-${serviceName}' }
var tracingEnv = empty(otlpEndpoint)
  ? [serviceNameEnv]
  : [serviceNameEnv, { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: otlpEndpoint }]

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: toObject(identities, id => id, id => {})
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: external
        ? {
            external: true
            targetPort: 8080
            transport: 'auto'
            allowInsecure: false
          }
        : null
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: serviceName
          image: image
          args: args
          env: concat(env, tracingEnv)
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          probes: [
            // Up as soon as it listens: the process listens before it opens
            // any store, and says on /readyz what it still waits for.
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              initialDelaySeconds: 1
              periodSeconds: 2
              failureThreshold: 10
            }
            // Alive: touches no dependency, so an outage of SQL or Service
            // Bus does not get every replica restarted.
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            // Ready: the role's own dependencies answer.
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: scaleRules
      }
    }
  }
}

output name string = app.name
output url string = external ? 'https://${app.properties.configuration.ingress.fqdn}' : ''

// The Service Bus namespace and the one queue Dropoff's commands travel on.
// Standard tier: Basic has no sessions. Local (key) authentication is off, so
// the only way in is an Entra ID token with a role on the queue.
param location string
param tags object
param namespaceName string

@description('Principal ids that may send to the queue (Azure Service Bus Data Sender).')
param senders array

@description('Principal ids that may receive from the queue (Azure Service Bus Data Receiver).')
param receivers array

@description('Principal ids that may read the queue\'s properties and length, and nothing else (the KEDA scaler).')
param lengthReaders array

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

// The queue as the code expects it: these values are servicebus.DefaultSettings()
// in src/bus/servicebus, and tests/deploy fails when the two differ.
// Sessions and duplicate detection cannot be changed once the queue exists.
resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: 'shipment-commands'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
  }
}

// Azure Service Bus Data Sender, on the queue only.
resource send 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in senders: {
    scope: queue
    name: guid(queue.id, principalId, '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
    }
  }
]

// Azure Service Bus Data Receiver, on the queue only.
resource receive 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in receivers: {
    scope: queue
    name: guid(queue.id, principalId, '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
    }
  }
]

// The KEDA scaler reads the queue's active message count through the
// entity's management endpoint. With a key that takes the Manage right;
// with Entra ID the read action on the queue, which this role grants alone:
// no sending, no receiving, no managing. (Data Owner would also do, and is
// what some samples grant; docs/deploy.md says how to fall back to it if the
// worker does not scale.)
resource lengthReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'dropoff-queue-length-reader')
  properties: {
    roleName: 'Dropoff queue length reader (${resourceGroup().name})'
    description: 'Reads a Service Bus queue\'s properties and message counts; nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.ServiceBus/namespaces/queues/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource readLength 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in lengthReaders: {
    scope: queue
    name: guid(queue.id, principalId, lengthReader.id)
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: lengthReader.id
    }
  }
]

output namespaceName string = namespace.name
// The endpoint is https://<name>.servicebus.windows.net:443/ (another suffix in
// sovereign clouds); the SDK wants the host alone. (Split on single slashes:
// the tree-sitter grammar the tests parse with reads a doubled one in a string
// as the start of a comment.)
output namespaceHost string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
output queueName string = queue.name

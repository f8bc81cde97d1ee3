// Log Analytics, where the Container Apps environment sends the apps' logs,
// and Application Insights on the same workspace (docs/deploy.md: watching it).
param location string
param tags object
param workspaceName string
param insightsName string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Telemetry must come signed in with Entra ID, not with the
    // instrumentation key alone.
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output insightsId string = insights.id

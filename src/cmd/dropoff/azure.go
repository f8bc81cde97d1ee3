package main

import (
	"errors"
	"fmt"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// How Dropoff authenticates to Azure (--azure-auth). One credential serves
// Service Bus and Azure SQL alike.
//
//   - default-credential: azidentity's DefaultAzureCredential, which tries environment
//     variables, workload identity, a managed identity, and then the
//     developer's Azure CLI and azd logins. Right on a laptop; in a container
//     with AZURE_CLIENT_ID missing it would quietly try whatever else it
//     finds.
//   - managed-identity: only the user-assigned managed identity whose client
//     id is AZURE_CLIENT_ID, which start-up requires. The deployment sets it:
//     in Azure an identity is either the right one or an error, never a
//     fallback. Every store must then be an Azure one too (azureOnly), so that
//     a missing variable cannot turn a worker into one writing to a SQLite
//     file inside its container.
const (
	authDefault         = "default-credential"
	authManagedIdentity = "managed-identity"
)

// checkAzureAuth validates --azure-auth and what it needs.
func checkAzureAuth(c config) error {
	switch c.AzureAuth {
	case authDefault:
		return nil
	case authManagedIdentity:
		if c.AzureClientID == "" {
			return errors.New("azure-auth managed-identity needs AZURE_CLIENT_ID, the client id of the app's user-assigned identity (Container Apps does not set it; the deployment must)")
		}
		return nil
	}
	return fmt.Errorf("azure-auth %q: want %s or %s", c.AzureAuth, authDefault, authManagedIdentity)
}

// azureAuth makes the process's one Azure credential, on first use: a
// process on embedded stores never builds one.
type azureAuth struct {
	c    config
	once sync.Once
	cred azcore.TokenCredential
	err  error
}

func (a *azureAuth) credential() (azcore.TokenCredential, error) {
	a.once.Do(func() { a.cred, a.err = newCredential(a.c) })
	return a.cred, a.err
}

func newCredential(c config) (azcore.TokenCredential, error) {
	if c.AzureAuth == authManagedIdentity {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ID: azidentity.ClientID(c.AzureClientID),
		})
		if err != nil {
			return nil, fmt.Errorf("managed identity %s: %w", c.AzureClientID, err)
		}
		return cred, nil
	}
	// The chain reads AZURE_CLIENT_ID from the environment itself.
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	return cred, nil
}

// azureOnly refuses, with managed-identity authentication, a store that
// would be embedded: what: "the queue", "the write database", ….
func azureOnly(c config, what, setting string) error {
	if c.AzureAuth != authManagedIdentity {
		return nil
	}
	return fmt.Errorf("azure-auth managed-identity: %s would be an embedded SQLite file; set %s", what, setting)
}

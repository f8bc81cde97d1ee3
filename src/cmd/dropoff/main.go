package main

import (
	_ "github.com/gin-gonic/gin"
	_ "github.com/google/uuid"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/sync/errgroup"
	_ "modernc.org/sqlite"
	_ "github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	_ "github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	_ "github.com/microsoft/go-mssqldb"
	_ "github.com/google/go-cmp/cmp"
)

func main() {}

package main

import "context"

// startQueryAPI enables the GET routes, answered from the projection only.
func startQueryAPI(ctx context.Context, p *process) error {
	db, err := p.projectionDB(ctx)
	if err != nil {
		return err
	}
	p.http.Queries = db
	return nil
}

package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/cmd/slipway/internal/client"
	"github.com/slipwayhq/slipway/cmd/slipway/internal/config"
)

type metadata struct {
	KeptnVersion    string `json:"keptnversion"`
	ShipyardVersion string `json:"shipyardversion"`
	Namespace       string `json:"namespace"`
	Product         string `json:"product"`
}

// check authenticates (POST /v1/auth) and reads /v1/metadata, as Keptn's CLI
// does on auth and on its version check.
func check(ctx context.Context, c *client.Client) (metadata, error) {
	if err := c.Do(ctx, http.MethodPost, "/v1/auth", nil, nil, nil); err != nil {
		return metadata{}, fmt.Errorf("authentication was not successful: %w", err)
	}
	var md metadata
	if err := c.Do(ctx, http.MethodGet, "/v1/metadata", nil, nil, &md); err != nil {
		return metadata{}, fmt.Errorf("read %s/v1/metadata: %w", c.Endpoint, err)
	}
	return md, nil
}

func (a *app) authCmd() *cobra.Command {
	var endpoint, token string
	c := &cobra.Command{
		Use:   "auth --endpoint=URL --api-token=TOKEN",
		Short: "Authenticates against a Slipway API and stores the endpoint and token",
		Long: `Checks the token against <endpoint>/v1/auth and stores endpoint and token in
<user config dir>/slipway/config.yaml (mode 0600). An endpoint without a path gets /api,
as with Keptn's CLI.`,
		Example: "slipway auth --endpoint=http://127.0.0.1:8080 --api-token=$SLIPWAY_API_TOKEN",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			ep, err := client.NormalizeEndpoint(endpoint)
			if err != nil {
				return &codeError{code: exitUsage, err: err, usage: true}
			}
			cl := client.New(ep, token)
			md, err := check(cmd.Context(), cl)
			if err != nil {
				return err
			}
			path, err := a.configPath()
			if err != nil {
				return err
			}
			if err := config.Save(path, config.Config{Endpoint: ep, APIToken: token}); err != nil {
				return err
			}
			a.printf("Successfully authenticated against %s (Keptn API %s)\n", ep, md.KeptnVersion)
			a.printf("Credentials stored in %s\n", path)
			return nil
		}),
	}
	c.Flags().StringVarP(&endpoint, "endpoint", "e", "", "the API endpoint, e.g. http://127.0.0.1:8080/api")
	c.Flags().StringVarP(&token, "api-token", "a", "", "the API token (x-token)")
	_ = c.MarkFlagRequired("endpoint")
	_ = c.MarkFlagRequired("api-token")
	return c
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Checks that the stored endpoint and token work",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cl, err := a.api()
			if err != nil {
				return err
			}
			md, err := check(cmd.Context(), cl)
			if err != nil {
				return err
			}
			product := md.Product
			if product == "" {
				product = "keptn"
			}
			a.printf("Endpoint: %s\nAuthenticated: yes\nAPI: %s, Keptn API version %s, shipyard %s\n",
				cl.Endpoint, product, md.KeptnVersion, md.ShipyardVersion)
			return nil
		}),
	}
}

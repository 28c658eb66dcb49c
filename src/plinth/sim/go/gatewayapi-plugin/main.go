// Command gatewayapi-plugin stands in for Argo Rollouts' Gateway API traffic-router plugin
// (argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi), whose releases the Go module proxy refuses.
//
// It speaks the controller's own plugin protocol (Argo Rollouts' rollout/trafficrouting/plugin/rpc at the
// controller's version) and does what the upstream plugin's setHTTPRouteWeight does
// (pkg/plugin/httproute.go): on every HTTPRoute named in the Rollout's plugin config, each backendRef naming
// the canary Service gets the desired weight and each naming the stable Service gets 100 minus it; a route
// without both is an error ("backendRef was not found in httpRoute"). Header and mirror routes are not
// supported by the stand-in (they return an error saying so); weights are not verified (as upstream).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	rolloutsPlugin "github.com/argoproj/argo-rollouts/rollout/trafficrouting/plugin/rpc"
	pluginTypes "github.com/argoproj/argo-rollouts/utils/plugin/types"
	goPlugin "github.com/hashicorp/go-plugin"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const pluginName = "argoproj-labs/gatewayAPI"

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

type routeRef struct {
	Name string `json:"name"`
}

type config struct {
	HTTPRoute  string     `json:"httpRoute"`
	HTTPRoutes []routeRef `json:"httpRoutes"`
	Namespace  string     `json:"namespace"`
}

type plugin struct {
	client dynamic.Interface
}

func (p *plugin) InitPlugin() pluginTypes.RpcError {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
		if err != nil {
			return pluginTypes.RpcError{ErrorString: err.Error()}
		}
	}
	p.client, err = dynamic.NewForConfig(cfg)
	if err != nil {
		return pluginTypes.RpcError{ErrorString: err.Error()}
	}
	return pluginTypes.RpcError{}
}

func readConfig(ro *v1alpha1.Rollout) (config, error) {
	var c config
	raw := ro.Spec.Strategy.Canary.TrafficRouting.Plugins[pluginName]
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, err
	}
	if c.Namespace == "" {
		c.Namespace = ro.Namespace
	}
	return c, nil
}

func (c config) routes() []string {
	names := []string{}
	if c.HTTPRoute != "" {
		names = append(names, c.HTTPRoute)
	}
	for _, r := range c.HTTPRoutes {
		names = append(names, r.Name)
	}
	return names
}

func setWeights(route *unstructured.Unstructured, canary, stable string, weight int32) error {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	foundCanary, foundStable := false, false
	for _, rule := range rules {
		ruleMap, ok := rule.(map[string]interface{})
		if !ok {
			continue
		}
		refs, _ := ruleMap["backendRefs"].([]interface{})
		for _, ref := range refs {
			refMap, ok := ref.(map[string]interface{})
			if !ok {
				continue
			}
			switch refMap["name"] {
			case canary:
				refMap["weight"] = int64(weight)
				foundCanary = true
			case stable:
				refMap["weight"] = int64(100 - weight)
				foundStable = true
			}
		}
	}
	if !foundCanary || !foundStable {
		return fmt.Errorf("backendRef was not found in httpRoute")
	}
	return unstructured.SetNestedSlice(route.Object, rules, "spec", "rules")
}

func (p *plugin) SetWeight(ro *v1alpha1.Rollout, desiredWeight int32, _ []v1alpha1.WeightDestination) pluginTypes.RpcError {
	c, err := readConfig(ro)
	if err != nil {
		return pluginTypes.RpcError{ErrorString: err.Error()}
	}
	ctx := context.TODO()
	for _, name := range c.routes() {
		route, err := p.client.Resource(httpRoutes).Namespace(c.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return pluginTypes.RpcError{ErrorString: err.Error()}
		}
		if err := setWeights(route, ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService, desiredWeight); err != nil {
			return pluginTypes.RpcError{ErrorString: err.Error()}
		}
		if _, err := p.client.Resource(httpRoutes).Namespace(c.Namespace).Update(ctx, route, metav1.UpdateOptions{}); err != nil {
			return pluginTypes.RpcError{ErrorString: err.Error()}
		}
	}
	return pluginTypes.RpcError{}
}

func (p *plugin) SetHeaderRoute(_ *v1alpha1.Rollout, _ *v1alpha1.SetHeaderRoute) pluginTypes.RpcError {
	return pluginTypes.RpcError{ErrorString: "header routes are not supported by the simulated cluster's stand-in plugin"}
}

func (p *plugin) SetMirrorRoute(_ *v1alpha1.Rollout, _ *v1alpha1.SetMirrorRoute) pluginTypes.RpcError {
	return pluginTypes.RpcError{ErrorString: "mirror routes are not supported by the simulated cluster's stand-in plugin"}
}

func (p *plugin) VerifyWeight(_ *v1alpha1.Rollout, _ int32, _ []v1alpha1.WeightDestination) (pluginTypes.RpcVerified, pluginTypes.RpcError) {
	return pluginTypes.NotImplemented, pluginTypes.RpcError{}
}

func (p *plugin) UpdateHash(_ *v1alpha1.Rollout, _, _ string, _ []v1alpha1.WeightDestination) pluginTypes.RpcError {
	return pluginTypes.RpcError{}
}

func (p *plugin) RemoveManagedRoutes(_ *v1alpha1.Rollout) pluginTypes.RpcError {
	return pluginTypes.RpcError{}
}

func (p *plugin) Type() string {
	return pluginName
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("plinth-sim gatewayapi stand-in")
		return
	}
	goPlugin.Serve(&goPlugin.ServeConfig{
		HandshakeConfig: goPlugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
			MagicCookieValue: "trafficrouter",
		},
		Plugins: map[string]goPlugin.Plugin{
			"RpcTrafficRouterPlugin": &rolloutsPlugin.RpcTrafficRouterPlugin{Impl: &plugin{}},
		},
	})
}

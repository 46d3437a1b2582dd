package admission

import (
	"encoding/json"
	"errors"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Pointers (RFC 6901) of the Pod spec inside each supported object.
const (
	podSpecPath      = "/spec"
	templateSpecPath = "/spec/template/spec"
	cronJobSpecPath  = "/spec/jobTemplate/spec/template/spec"
	podTemplatePath  = "/template/spec"
)

// Container lists of a Pod spec, in the order they are checked.
const (
	listContainers = "containers"
	listInit       = "initContainers"
	listEphemeral  = "ephemeralContainers"
)

// kind is how a supported kind is decoded: where its Pod spec is, and a
// decoder returning its own type and its Pod template.
type kind struct {
	specPath string
	decode   func([]byte) (metav1.TypeMeta, *corev1.PodTemplateSpec, error)
}

// kinds are the supported kinds, by the request's kind.
var kinds = map[schema.GroupVersionKind]kind{
	{Version: "v1", Kind: "Pod"}: {podSpecPath, func(raw []byte) (metav1.TypeMeta, *corev1.PodTemplateSpec, error) {
		var p corev1.Pod
		err := jsonv2.Unmarshal(raw, &p)
		return p.TypeMeta, &corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}, err
	}},
	// The core kinds that carry a Pod template: a ReplicationController
	// creates Pods like a ReplicaSet; a PodTemplate is what other
	// controllers copy.
	{Version: "v1", Kind: "ReplicationController"}: {templateSpecPath, template(func(w *corev1.ReplicationController) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		if w.Spec.Template == nil {
			return w.TypeMeta, &corev1.PodTemplateSpec{}
		}
		return w.TypeMeta, w.Spec.Template
	})},
	{Version: "v1", Kind: "PodTemplate"}: {podTemplatePath, template(func(w *corev1.PodTemplate) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Template
	})},
	{Group: "apps", Version: "v1", Kind: "Deployment"}: {templateSpecPath, template(func(w *appsv1.Deployment) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Spec.Template
	})},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}: {templateSpecPath, template(func(w *appsv1.StatefulSet) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Spec.Template
	})},
	{Group: "apps", Version: "v1", Kind: "DaemonSet"}: {templateSpecPath, template(func(w *appsv1.DaemonSet) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Spec.Template
	})},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"}: {templateSpecPath, template(func(w *appsv1.ReplicaSet) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Spec.Template
	})},
	{Group: "batch", Version: "v1", Kind: "Job"}: {templateSpecPath, template(func(w *batchv1.Job) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Spec.Template
	})},
	{Group: "batch", Version: "v1", Kind: "CronJob"}: {cronJobSpecPath, template(func(w *batchv1.CronJob) (metav1.TypeMeta, *corev1.PodTemplateSpec) {
		return w.TypeMeta, &w.Spec.JobTemplate.Spec.Template
	})},
}

// template returns a decoder of a workload of type T whose Pod template get
// returns.
func template[T any](get func(*T) (metav1.TypeMeta, *corev1.PodTemplateSpec)) func([]byte) (metav1.TypeMeta, *corev1.PodTemplateSpec, error) {
	return func(raw []byte) (metav1.TypeMeta, *corev1.PodTemplateSpec, error) {
		var w T
		err := jsonv2.Unmarshal(raw, &w)
		tm, t := get(&w)
		return tm, t, err
	}
}

// object is the Pod (or Pod template) of an admitted object.
type object struct {
	// specPath is the pointer of the Pod spec in the admitted object.
	specPath string
	// meta and spec are the Pod's, or the template's.
	meta metav1.ObjectMeta
	spec corev1.PodSpec
}

// container is one container of a Pod spec, whichever its list.
type container struct {
	list  string
	index int
	name  string
	image string
	sc    *corev1.SecurityContext
	env   []corev1.EnvVar
}

// what names the container in messages: `init container "setup"`.
func (c container) what() string {
	switch c.list {
	case listInit:
		return fmt.Sprintf("init container %q", c.name)
	case listEphemeral:
		return fmt.Sprintf("ephemeral container %q", c.name)
	}
	return fmt.Sprintf("container %q", c.name)
}

// key identifies the container across the old and new object of an update.
func (c container) key() string { return c.list + "/" + c.name }

// imagePath is the JSON pointer of the container's image.
func (o *object) imagePath(c container) string {
	return fmt.Sprintf("%s/%s/%d/image", o.specPath, c.list, c.index)
}

// containers lists every container, init container and ephemeral container.
func (o *object) containers() []container {
	var cs []container
	for i, c := range o.spec.Containers {
		cs = append(cs, container{list: listContainers, index: i, name: c.Name, image: c.Image, sc: c.SecurityContext, env: c.Env})
	}
	for i, c := range o.spec.InitContainers {
		cs = append(cs, container{list: listInit, index: i, name: c.Name, image: c.Image, sc: c.SecurityContext, env: c.Env})
	}
	for i, c := range o.spec.EphemeralContainers {
		cs = append(cs, container{list: listEphemeral, index: i, name: c.Name, image: c.Image, sc: c.SecurityContext, env: c.Env})
	}
	return cs
}

// errUnsupportedKind marks a kind the webhook does not check.
var errUnsupportedKind = errors.New("unsupported kind")

// decodeObject decodes raw as gvk. It returns errUnsupportedKind for kinds
// it does not check; any other error means raw is not a valid object of its
// kind.
func decodeObject(gvk schema.GroupVersionKind, raw []byte) (*object, error) {
	k, ok := kinds[gvk]
	if !ok {
		return nil, errUnsupportedKind
	}
	if len(raw) == 0 {
		return nil, errors.New("request has no object")
	}
	tm, t, err := k.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %s", gvk.Kind, clip(err.Error(), 200))
	}
	if err := checkType(tm, gvk); err != nil {
		return nil, err
	}
	return &object{specPath: k.specPath, meta: t.ObjectMeta, spec: t.Spec}, nil
}

// checkType rejects an object whose own apiVersion and kind, when given,
// are not those the request says it has.
func checkType(tm metav1.TypeMeta, want schema.GroupVersionKind) error {
	if tm.APIVersion == "" && tm.Kind == "" {
		return nil
	}
	if got := tm.GroupVersionKind(); got != want {
		return fmt.Errorf("object is %q %q but the request says %q %q",
			clip(tm.APIVersion, 100), clip(tm.Kind, 100), want.GroupVersion().String(), want.Kind)
	}
	return nil
}

// podMap is the object's Pod as policy rules see it: the Pod itself, or a
// Pod built from the workload's template (its metadata and spec), as JSON
// decoded into map[string]any. The request's namespace fills in a missing
// one.
func (o *object) podMap(namespace string) (map[string]any, error) {
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: o.meta,
		Spec:       o.spec,
	}
	if pod.Namespace == "" {
		pod.Namespace = namespace
	}
	data, err := json.Marshal(&pod)
	if err != nil {
		return nil, fmt.Errorf("encode pod: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	return m, nil
}

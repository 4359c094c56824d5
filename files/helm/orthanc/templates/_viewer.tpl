{{/* The OHIF viewer (values viewer:): names, labels, the Orthanc it reads, and its rules across values. */}}
{{- define "orthanc.viewerName" -}}
{{- printf "%s-viewer" (include "orthanc.fullname" . | trunc 56 | trimSuffix "-") -}}
{{- end -}}

{{- define "orthanc.viewerSelectorLabels" -}}
{{ include "orthanc.selectorLabels" . }}
app.kubernetes.io/component: viewer
{{- end -}}

{{/* Orthanc's DICOMweb root without its trailing slash: the path the browser uses on the viewer's origin too. */}}
{{- define "orthanc.viewerDicomwebPath" -}}
{{- trimSuffix "/" .Values.orthanc.dicomWeb.root -}}
{{- end -}}

{{/* This release's Orthanc Service, as the viewer pod reaches it. */}}
{{- define "orthanc.viewerUpstream" -}}
{{- printf "http://%s.%s.svc:%v%s" (include "orthanc.fullname" .) .Release.Namespace .Values.service.port (include "orthanc.viewerDicomwebPath" .) -}}
{{- end -}}

{{- define "orthanc.viewerServerName" -}}
{{- $v := .Values.viewer -}}
{{- if $v.serverName -}}{{- $v.serverName -}}
{{- else if and $v.ingress.enabled $v.ingress.hosts -}}{{- (first $v.ingress.hosts).host -}}
{{- else if and $v.route.enabled $v.route.host -}}{{- $v.route.host -}}
{{- else -}}{{- printf "%s.%s.svc" (include "orthanc.viewerName" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The TLS Secret the pod mounts: the given one, or the one OpenShift's service CA writes; empty: self-signed. */}}
{{- define "orthanc.viewerTlsSecret" -}}
{{- if .Values.viewer.tls.secretName -}}{{- .Values.viewer.tls.secretName -}}
{{- else if .Values.viewer.tls.openshiftServiceCA -}}{{- printf "%s-tls" (include "orthanc.viewerName" .) -}}
{{- end -}}
{{- end -}}

{{- define "orthanc.viewerValidate" -}}
{{- $v := .Values -}}
{{- if not $v.orthanc.dicomWeb.enabled -}}
{{- fail "viewer.enabled needs orthanc.dicomWeb.enabled: the viewer reads Orthanc through DICOMweb" -}}
{{- end -}}
{{- if not (regexMatch "^/[A-Za-z0-9._~/-]*[^/]$" (include "orthanc.viewerDicomwebPath" .)) -}}
{{- fail (printf "viewer.enabled needs orthanc.dicomWeb.root to be a path below / (got %q): the viewer serves DICOMweb there on its own origin" $v.orthanc.dicomWeb.root) -}}
{{- end -}}
{{- if and (not $v.orthanc.authenticationEnabled) (not $v.viewer.allowUnauthenticated) -}}
{{- fail "viewer.enabled with orthanc.authenticationEnabled false would show every study to anyone who reaches the viewer: turn Orthanc's authentication on, or set viewer.allowUnauthenticated true when an SSO front authenticates users" -}}
{{- end -}}
{{- if and $v.viewer.ingress.enabled (not $v.viewer.ingress.hosts) -}}
{{- fail "viewer.ingress.enabled needs viewer.ingress.hosts: the viewer has its own host (OHIF is built for the root path)" -}}
{{- end -}}
{{- if and $v.viewer.tls.secretName $v.viewer.tls.openshiftServiceCA -}}
{{- fail "viewer.tls: give secretName or openshiftServiceCA, not both" -}}
{{- end -}}
{{- end -}}

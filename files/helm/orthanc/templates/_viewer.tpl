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
{{- if not (has $v.viewer.mode (list "onprem" "cloud")) -}}
{{- fail (printf "viewer.mode must be onprem or cloud (got %q)" $v.viewer.mode) -}}
{{- end -}}
{{- if eq $v.viewer.mode "onprem" -}}
{{- if not $v.orthanc.dicomWeb.enabled -}}
{{- fail "viewer.enabled needs orthanc.dicomWeb.enabled: the viewer reads Orthanc through DICOMweb" -}}
{{- end -}}
{{- if not (regexMatch "^/[A-Za-z0-9._~/-]*[^/]$" (include "orthanc.viewerDicomwebPath" .)) -}}
{{- fail (printf "viewer.enabled needs orthanc.dicomWeb.root to be a path below / (got %q): the viewer serves DICOMweb there on its own origin" $v.orthanc.dicomWeb.root) -}}
{{- end -}}
{{- if and (not $v.orthanc.authenticationEnabled) (not $v.viewer.allowUnauthenticated) -}}
{{- fail "viewer.enabled with orthanc.authenticationEnabled false would show every study to anyone who reaches the viewer: turn Orthanc's authentication on, or set viewer.allowUnauthenticated true when an SSO front authenticates users" -}}
{{- end -}}
{{- else -}}
{{- include "orthanc.viewerCloudValidate" . -}}
{{- end -}}
{{- if and $v.viewer.ingress.enabled (not $v.viewer.ingress.hosts) -}}
{{- fail "viewer.ingress.enabled needs viewer.ingress.hosts: the viewer has its own host (OHIF is built for the root path)" -}}
{{- end -}}
{{- if and $v.viewer.tls.secretName $v.viewer.tls.openshiftServiceCA -}}
{{- fail "viewer.tls: give secretName or openshiftServiceCA, not both" -}}
{{- end -}}
{{- end -}}

{{/* viewer.mode cloud: what the image's token broker needs, refused here rather than in a crash-looping pod. */}}
{{- define "orthanc.viewerCloudValidate" -}}
{{- $v := .Values -}}
{{- $c := $v.viewer.cloud -}}
{{- $a := $c.authentication -}}
{{- $secret := default (dict) $a.clientSecret -}}
{{- if not (hasPrefix "https://" $c.url) -}}
{{- fail (printf "viewer.mode cloud needs viewer.cloud.url, the DICOM service's https:// URL (got %q), e.g. https://WORKSPACE-SERVICE.dicom.azurehealthcareapis.com/v2" $c.url) -}}
{{- end -}}
{{- if and (eq $a.type "client-credentials") (not (and $a.tokenEndpoint $a.clientId $secret.secretName $secret.key)) -}}
{{- fail "viewer.cloud.authentication: client-credentials needs tokenEndpoint, clientId and clientSecret {secretName, key} (an existing Secret, mounted as a file: never a value in the environment)" -}}
{{- end -}}
{{- if and (ne $a.type "client-credentials") $secret.secretName -}}
{{- fail (printf "viewer.cloud.authentication.clientSecret is for client-credentials only (type is %s)" $a.type) -}}
{{- end -}}
{{- if and (eq $a.type "workload-identity") (not $v.workloadIdentity.enabled) -}}
{{- fail "viewer.cloud.authentication: workload-identity needs workloadIdentity.enabled (the service account annotation and pod label the webhook reads; the viewer pod uses this release's service account)" -}}
{{- end -}}
{{- if not (or (default (dict) $c.htpasswd).secretName $v.viewer.allowUnauthenticated) -}}
{{- fail "viewer.mode cloud: viewers must be authenticated: give viewer.cloud.htpasswd {secretName, key} (nginx basic auth), or set viewer.allowUnauthenticated true when an SSO front (an oauth2-proxy, the ingress's OIDC) authenticates users before the viewer" -}}
{{- end -}}
{{- end -}}

{{/* The broker's token settings (OHIF_VIEWER_OAUTH): the plugin's DicomWebOAuth server keys, secrets as files. */}}
{{- define "orthanc.viewerOAuth" -}}
{{- $c := .Values.viewer.cloud -}}
{{- $a := $c.authentication -}}
{{- $s := dict "Provider" (include "orthanc.provider" $a.type) -}}
{{- range $key, $field := dict "TokenEndpoint" "tokenEndpoint" "ClientId" "clientId" "Scope" "scope" "TenantId" "tenantId" "AuthorityHost" "authorityHost" -}}
{{- if get $a $field -}}{{- $_ := set $s $key (get $a $field) -}}{{- end -}}
{{- end -}}
{{- if eq $a.type "client-credentials" -}}
{{- $_ := set $s "ClientSecretFile" "/run/medimaging/viewer-secrets/client-secret" -}}
{{- end -}}
{{- if and $c.caBundle.configMap $c.caBundle.forTokens -}}
{{- $_ := set $s "CaBundle" "/run/medimaging/viewer-ca/ca.crt" -}}
{{- end -}}
{{- include "orthanc.merge" (list $s (default (dict) $c.options)) -}}
{{- toJson $s -}}
{{- end -}}

{{/* Names and labels. */}}
{{- define "orthanc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orthanc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "orthanc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orthanc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Orthanc pods (the in-cluster PostgreSQL shares the release labels with component postgresql). */}}
{{- define "orthanc.pacsSelectorLabels" -}}
{{ include "orthanc.selectorLabels" . }}
app.kubernetes.io/component: pacs
{{- end -}}

{{- define "orthanc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "orthanc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: medimaging
{{- end -}}

{{- define "orthanc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "orthanc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
checkov skips, as annotations checkov reads (checkov.io/skipN: CHECK=reason), each with its reason:
"image" for workloads, "platformUid" for workloads without runAsUser (OpenShift).
*/}}
{{- define "orthanc.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_21=the namespace is the release's (helm install -n); the chart sets none of its own
{{- if has "image" . }}
checkov.io/skip2: CKV_K8S_43=the schema refuses latest and empty tags; image.digest pins by digest when set
checkov.io/skip3: CKV_K8S_15=IfNotPresent with a pinned tag or digest; Always only adds registry calls
{{- end }}
{{- if has "platformUid" . }}
checkov.io/skip4: CKV_K8S_40=runAsUser unset on purpose, the platform assigns the UID (OpenShift restricted-v2 gives one from the namespace range, above 10^9) and runAsNonRoot stays true
{{- end }}
{{- end -}}

{{/* repository@digest when a digest is given, else repository:tag (the schema refuses `latest`). */}}
{{- define "orthanc.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{- define "orthanc.postgresqlName" -}}
{{- printf "%s-postgresql" (include "orthanc.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Several Orthancs at once (replicas or the HPA): they must share the index and the files. */}}
{{- define "orthanc.multiReplica" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled -}}true{{- end -}}
{{- end -}}

{{/*
Every secret the pod reads, as files: a list of {alias, secretName, key} (a Kubernetes Secret, mounted under
/run/medimaging/secrets) or {alias, keyVaultObject} (Azure Key Vault through the CSI driver, under
/run/medimaging/keyvault). Returned as JSON {"items": [...]}.
*/}}
{{- define "orthanc.secretFiles" -}}
{{- $v := .Values -}}
{{- $items := list -}}
{{- if $v.orthanc.authenticationEnabled -}}
{{- if $v.auth.keyVaultObject -}}
{{- $items = append $items (dict "alias" "registered-users" "keyVaultObject" $v.auth.keyVaultObject) -}}
{{- else -}}
{{- $items = append $items (dict "alias" "registered-users" "secretName" $v.auth.existingSecret "key" $v.auth.usersKey) -}}
{{- end -}}
{{- end -}}
{{- if eq $v.database.mode "external" -}}
{{- $kv := $v.database.external.credentialsKeyVault -}}
{{- if $kv.passwordObject -}}
{{- $items = append $items (dict "alias" "postgresql-username" "keyVaultObject" $kv.usernameObject) -}}
{{- $items = append $items (dict "alias" "postgresql-password" "keyVaultObject" $kv.passwordObject) -}}
{{- else -}}
{{- $s := $v.database.external.credentialsSecret -}}
{{- $items = append $items (dict "alias" "postgresql-username" "secretName" $s.name "key" $s.usernameKey) -}}
{{- $items = append $items (dict "alias" "postgresql-password" "secretName" $s.name "key" $s.passwordKey) -}}
{{- end -}}
{{- else if eq $v.database.mode "inCluster" -}}
{{- $s := $v.database.inCluster.credentialsSecret -}}
{{- $items = append $items (dict "alias" "postgresql-username" "secretName" $s.name "key" $s.usernameKey) -}}
{{- $items = append $items (dict "alias" "postgresql-password" "secretName" $s.name "key" $s.passwordKey) -}}
{{- end -}}
{{- if $v.oauthPlugin.enabled -}}
{{- range $name, $server := $v.oauthPlugin.servers -}}
{{- $a := $server.authentication -}}
{{- if $a.clientSecret -}}
{{- $items = append $items (merge (dict "alias" (printf "oauth-%s-client-secret" $name)) $a.clientSecret) -}}
{{- end -}}
{{- if $a.staticToken -}}
{{- $items = append $items (merge (dict "alias" (printf "oauth-%s-static-token" $name)) $a.staticToken) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $v.dicom.tls.enabled -}}
{{- range $alias, $ref := dict "dicom-tls-certificate" $v.dicom.tls.certificate "dicom-tls-private-key" $v.dicom.tls.privateKey "dicom-tls-trusted-certificates" $v.dicom.tls.trustedCertificates -}}
{{- $items = append $items (merge (dict "alias" $alias) $ref) -}}
{{- end -}}
{{- end -}}
{{- range $v.secretFiles -}}
{{- $items = append $items . -}}
{{- end -}}
{{- dict "items" $items | toJson -}}
{{- end -}}

{{/* The path where a secret file lands: (list $root <reference with alias>). */}}
{{- define "orthanc.secretPath" -}}
{{- $ref := index . 1 -}}
{{- if $ref.keyVaultObject -}}
/run/medimaging/keyvault/{{ $ref.alias }}
{{- else -}}
/run/medimaging/secrets/{{ $ref.alias }}
{{- end -}}
{{- end -}}

{{/* The path of a secret file by its alias (the chart's own aliases). */}}
{{- define "orthanc.secretPathByAlias" -}}
{{- $root := index . 0 -}}{{- $alias := index . 1 -}}
{{- range (include "orthanc.secretFiles" $root | fromJson).items -}}
{{- if eq .alias $alias -}}{{- include "orthanc.secretPath" (list $root .) -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Recursive merge of (list dst src) into dst: maps merge, everything else (false, 0, lists) replaces. */}}
{{- define "orthanc.merge" -}}
{{- $dst := index . 0 -}}
{{- range $key, $value := index . 1 -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "orthanc.merge" (list (get $dst $key) $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "orthanc.provider" -}}
{{- get (dict "client-credentials" "client_credentials" "workload-identity" "workload_identity" "managed-identity" "managed_identity" "static" "static") . -}}
{{- end -}}

{{/*
Orthanc's configuration as JSON: the same keys, values and secure defaults as orthanc_config's build_config()
(plugins/module_utils/orthanc_config.py) for the same inputs, with secrets left to the files the entrypoint reads.
tests/unit/helm_chart/test_three_forms.py proves the host JSON, the container env and this agree.
*/}}
{{- define "orthanc.config" -}}
{{- $v := .Values -}}
{{- $o := $v.orthanc -}}
{{- $c := dict "Name" $o.name "StorageDirectory" "/var/lib/orthanc/db" "IndexDirectory" "/var/lib/orthanc/db" -}}
{{- $_ := set $c "HttpPort" $o.httpPort -}}
{{- $_ = set $c "DicomPort" $o.dicomPort -}}
{{- $_ = set $c "DicomAet" $o.dicomAet -}}
{{- $_ = set $c "RemoteAccessAllowed" true -}}
{{- $_ = set $c "AuthenticationEnabled" $o.authenticationEnabled -}}
{{- $_ = set $c "ExecuteLuaEnabled" false -}}
{{- $_ = set $c "RestApiWriteToFileSystemEnabled" false -}}
{{- $_ = set $c "DeidentifyLogs" true -}}
{{- $_ = set $c "MaximumStorageCacheSize" $o.maximumStorageCacheSizeMb -}}
{{- $_ = set $c "StableAge" $o.stableAge -}}
{{- $_ = set $c "ConcurrentJobs" $o.concurrentJobs -}}
{{- $_ = set $c "HttpThreadsCount" $o.httpThreads -}}
{{- $_ = set $c "DicomCheckCalledAet" $o.dicomCheckCalledAet -}}
{{- $_ = set $c "UnknownSopClassAccepted" false -}}
{{- $_ = set $c "Plugins" (list) -}}
{{- if ne $v.database.mode "sqlite" -}}
{{- $pg := dict "EnableIndex" true "EnableStorage" false -}}
{{- if eq $v.database.mode "external" -}}
{{- $_ = set $pg "Host" $v.database.external.host -}}
{{- $_ = set $pg "Port" $v.database.external.port -}}
{{- $_ = set $pg "Database" $v.database.external.database -}}
{{- $_ = set $pg "EnableSsl" (eq $v.database.external.sslMode "require") -}}
{{- else -}}
{{- $_ = set $pg "Host" (include "orthanc.postgresqlName" .) -}}
{{- $_ = set $pg "Port" 5432 -}}
{{- $_ = set $pg "Database" $v.database.inCluster.database -}}
{{- $_ = set $pg "EnableSsl" (not (empty $v.database.inCluster.tls.secretName)) -}}
{{- end -}}
{{- /* Replicas, rolling updates and the router's queue share the database: no exclusive lock. */ -}}
{{- $_ = set $pg "Lock" false -}}
{{- $_ = set $pg "MaximumConnectionRetries" $v.database.connectionRetries -}}
{{- $_ = set $pg "ConnectionRetryInterval" $v.database.connectionRetryInterval -}}
{{- $_ = set $c "PostgreSQL" $pg -}}
{{- end -}}
{{- if $o.dicomWeb.enabled -}}
{{- $_ = set $c "DicomWeb" (dict "Enable" true "Root" $o.dicomWeb.root "EnableWado" true "Ssl" false) -}}
{{- end -}}
{{- $_ = set $c "PythonScript" "/usr/share/medimaging/orthanc-plugin/entrypoint.py" -}}
{{- $_ = set $c "PythonVerbose" $o.pythonVerbose -}}
{{- if $v.oauthPlugin.enabled -}}
{{- $servers := dict -}}
{{- range $name, $server := $v.oauthPlugin.servers -}}
{{- $a := $server.authentication -}}
{{- $s := dict "Url" $server.url "Provider" (include "orthanc.provider" $a.type) -}}
{{- range $key, $field := dict "TokenEndpoint" "tokenEndpoint" "ClientId" "clientId" "Scope" "scope" "TenantId" "tenantId" "AuthorityHost" "authorityHost" -}}
{{- if get $a $field -}}{{- $_ := set $s $key (get $a $field) -}}{{- end -}}
{{- end -}}
{{- if $a.clientSecret -}}
{{- $_ := set $s "ClientSecretFile" (include "orthanc.secretPath" (list $ (merge (dict "alias" (printf "oauth-%s-client-secret" $name)) $a.clientSecret))) -}}
{{- end -}}
{{- if $a.staticToken -}}
{{- $_ := set $s "StaticTokenFile" (include "orthanc.secretPath" (list $ (merge (dict "alias" (printf "oauth-%s-static-token" $name)) $a.staticToken))) -}}
{{- end -}}
{{- include "orthanc.merge" (list $s (default (dict) $server.options)) -}}
{{- $_ := set $servers $name $s -}}
{{- end -}}
{{- $oauth := deepCopy (default (dict) $v.oauthPlugin.settings) -}}
{{- $_ = set $oauth "Servers" $servers -}}
{{- $_ = set $c "DicomWebOAuth" $oauth -}}
{{- end -}}
{{- range $section, $settings := dict "MedimagingRouter" $v.plugin.router "MedimagingArchive" $v.plugin.archive "MedimagingPriors" $v.plugin.priors -}}
{{- if $settings -}}{{- $_ := set $c $section (deepCopy $settings) -}}{{- end -}}
{{- end -}}
{{- if $v.storage.objectStorage.enabled -}}
{{- $_ = set $c $v.storage.objectStorage.section (deepCopy (default (dict) $v.storage.objectStorage.settings)) -}}
{{- end -}}
{{- if $v.dicom.tls.enabled -}}
{{- $_ = set $c "DicomTlsEnabled" true -}}
{{- $_ = set $c "DicomTlsCertificate" (include "orthanc.secretPathByAlias" (list $ "dicom-tls-certificate")) -}}
{{- $_ = set $c "DicomTlsPrivateKey" (include "orthanc.secretPathByAlias" (list $ "dicom-tls-private-key")) -}}
{{- $_ = set $c "DicomTlsTrustedCertificates" (include "orthanc.secretPathByAlias" (list $ "dicom-tls-trusted-certificates")) -}}
{{- $_ = set $c "DicomTlsRemoteCertificateRequired" $v.dicom.tls.remoteCertificateRequired -}}
{{- end -}}
{{- include "orthanc.merge" (list $c (deepCopy (default (dict) $v.config))) -}}
{{- toPrettyJson $c -}}
{{- end -}}

{{/*
What values.schema.json cannot say: rules across several values. Each failure names the value and what to do.
*/}}
{{- define "orthanc.validate" -}}
{{- $v := .Values -}}
{{- if and $v.orthanc.authenticationEnabled (not (or $v.auth.existingSecret $v.auth.keyVaultObject)) -}}
{{- fail "auth: orthanc.authenticationEnabled is true but no users are given: set auth.existingSecret (a Secret whose key auth.usersKey holds {\"user\": \"password\"}) or auth.keyVaultObject" -}}
{{- end -}}
{{- if and (eq $v.database.mode "external") (not $v.database.external.host) -}}
{{- fail "database.external.host is required with database.mode external (or choose database.mode inCluster or sqlite)" -}}
{{- end -}}
{{- if and (eq $v.database.mode "external") (not (or $v.database.external.credentialsSecret.name $v.database.external.credentialsKeyVault.passwordObject)) -}}
{{- fail "database.external: give credentialsSecret.name (a Secret with the user name and password) or credentialsKeyVault.usernameObject and passwordObject" -}}
{{- end -}}
{{- if and (eq $v.database.mode "inCluster") (not $v.database.inCluster.credentialsSecret.name) -}}
{{- fail "database.inCluster.credentialsSecret.name is required: a Secret with the user name and password of the in-cluster PostgreSQL (the chart never generates one)" -}}
{{- end -}}
{{- if include "orthanc.multiReplica" . -}}
{{- if eq $v.database.mode "sqlite" -}}
{{- fail "replicaCount > 1 or autoscaling needs PostgreSQL: database.mode sqlite keeps the index in one pod's volume" -}}
{{- end -}}
{{- if and (not $v.storage.objectStorage.enabled) (not (has "ReadWriteMany" $v.storage.persistence.accessModes)) (not $v.storage.persistence.existingClaim) -}}
{{- fail "replicaCount > 1 or autoscaling needs shared storage: set storage.persistence.accessModes to [ReadWriteMany] or enable storage.objectStorage" -}}
{{- end -}}
{{- end -}}
{{- if and $v.oauthPlugin.enabled (not $v.oauthPlugin.servers) -}}
{{- fail "oauthPlugin.enabled needs at least one server in oauthPlugin.servers" -}}
{{- end -}}
{{- range $name, $server := (ternary $v.oauthPlugin.servers (dict) (not (not $v.oauthPlugin.enabled))) -}}
{{- $a := $server.authentication -}}
{{- if and (eq $a.type "client-credentials") (not (and $a.tokenEndpoint $a.clientId $a.clientSecret)) -}}
{{- fail (printf "oauthPlugin.servers.%s: client-credentials needs authentication.tokenEndpoint, clientId and clientSecret" $name) -}}
{{- end -}}
{{- if and (eq $a.type "static") (not $a.staticToken) -}}
{{- fail (printf "oauthPlugin.servers.%s: static needs authentication.staticToken (a secret reference)" $name) -}}
{{- end -}}
{{- if and (eq $a.type "workload-identity") (not $v.workloadIdentity.enabled) -}}
{{- fail (printf "oauthPlugin.servers.%s: workload-identity needs workloadIdentity.enabled (the pod label and service account annotation the webhook reads)" $name) -}}
{{- end -}}
{{- end -}}
{{- if and $v.dicom.tls.enabled (not (and $v.dicom.tls.certificate $v.dicom.tls.privateKey $v.dicom.tls.trustedCertificates)) -}}
{{- fail "dicom.tls.enabled needs dicom.tls.certificate, privateKey and trustedCertificates (secret references)" -}}
{{- end -}}
{{- range (include "orthanc.secretFiles" . | fromJson).items -}}
{{- if and .keyVaultObject (not $v.secrets.azureKeyVault.enabled) -}}
{{- fail (printf "secret %s names Key Vault object %s but secrets.azureKeyVault.enabled is false" .alias .keyVaultObject) -}}
{{- end -}}
{{- if and (not .keyVaultObject) (not (and .secretName .key)) -}}
{{- fail (printf "secret %s: give {secretName, key} (a Kubernetes Secret) or {keyVaultObject}" .alias) -}}
{{- end -}}
{{- end -}}
{{- if and $v.secrets.azureKeyVault.enabled (not (and $v.secrets.azureKeyVault.vaultName $v.secrets.azureKeyVault.tenantId (or $v.secrets.azureKeyVault.clientId $v.workloadIdentity.clientId))) -}}
{{- fail "secrets.azureKeyVault needs vaultName, tenantId and clientId (or workloadIdentity.clientId)" -}}
{{- end -}}
{{- if and $v.workloadIdentity.enabled (not $v.workloadIdentity.clientId) -}}
{{- fail "workloadIdentity.enabled needs workloadIdentity.clientId (the user-assigned identity's client id)" -}}
{{- end -}}
{{- if and $v.monitoring.serviceMonitor.enabled (not $v.monitoring.serviceMonitor.basicAuthSecret.name) -}}
{{- fail "monitoring.serviceMonitor needs basicAuthSecret.name: /medimaging/metrics is behind Orthanc's authentication" -}}
{{- end -}}
{{- end -}}

// Package verify holds the tests of the deployment examples in deploy/: prometheus.yml
// through the real promtool (2 and 3), alertmanager.yml through amtool and kept equal to
// rulegen's output, the systemd units through systemd-analyze, incidentd.yml through
// incidentd --config.check, and the Dockerfiles and docker-compose.yml against the files
// they reference. Docker cannot run where the tests run, so the images are not built here.
package verify

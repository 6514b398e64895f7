module imageshare-operator.invalid/tools/argocd-health

go 1.25.0

require (
	github.com/yuin/gopher-lua v1.1.2
	layeh.com/gopher-json v0.0.0-20190114024228-97fed8db8427
)

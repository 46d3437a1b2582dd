module example.com/vulnfixture

go 1.26.8

require (
	golang.org/x/crypto v0.30.0
	golang.org/x/net v0.21.0
	golang.org/x/text v0.21.0
)

require golang.org/x/sys v0.28.0 // indirect

// x/crypto v0.30.0 requires x/text v0.21.0 and x/net v0.21.0; the
// replacements keep the vulnerable versions in the build (recorded as
// replaced modules).
replace (
	golang.org/x/net => golang.org/x/net v0.0.0-20220127200216-cd36cc0744dd
	golang.org/x/text => golang.org/x/text v0.3.7
)

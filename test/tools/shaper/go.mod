module registry-actions/test/tools/shaper

go 1.22

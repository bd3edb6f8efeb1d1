#!/usr/bin/env node
// Committed shim so npm can link the bin before the first build.
import "../dist/cli.js";

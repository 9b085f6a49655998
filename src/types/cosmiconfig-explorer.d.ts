// cosmiconfig ships no declarations for its Explorer class, which we use directly
// to skip the meta-config lookup in the current directory (see system/config.ts).
declare module "cosmiconfig/dist/Explorer.js" {
  import type { CosmiconfigResult, Loaders } from "cosmiconfig";
  export class Explorer {
    constructor(options: {
      moduleName: string;
      searchPlaces: string[];
      ignoreEmptySearchPlaces: boolean;
      cache: boolean;
      transform: (result: CosmiconfigResult) => CosmiconfigResult;
      loaders: Loaders;
      metaConfigFilePath: null;
      mergeImportArrays: boolean;
      mergeSearchPlaces: boolean;
      searchStrategy: "none";
    });
    load(filepath: string): Promise<CosmiconfigResult>;
  }
}

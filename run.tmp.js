const ts=require('typescript');const fs=require('fs');
require.extensions['.ts']=function(m,f){const out=ts.transpileModule(fs.readFileSync(f,'utf8'),{compilerOptions:{module:ts.ModuleKind.CommonJS,target:ts.ScriptTarget.ES2022,esModuleInterop:true}}).outputText;m._compile(out,f)};
require(process.argv[2]);

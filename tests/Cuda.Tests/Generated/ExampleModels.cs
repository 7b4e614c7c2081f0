using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Emit.Cuda;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>The CUDA C the generator writes for every .model file in examples/ and tests/CudaParity/models/.</summary>
internal static class ExampleModels
{
    public static string RepositoryRoot
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ModelDsl.sln"))) folder = folder.Parent;
            return folder?.FullName ?? throw new InvalidOperationException("ModelDsl.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>(model name, generated CUDA C) for each model that has CUDA code; models without it yet are listed in <paramref name="without"/>.</summary>
    public static IReadOnlyList<(string Model, CudaModule Module)> CudaModules(out IReadOnlyList<string> without) =>
        CudaPlans(out without).Select(m => (m.Model, m.Module)).ToList();

    /// <summary>As <see cref="CudaModules"/>, with each model's plan.</summary>
    public static IReadOnlyList<(string Model, ModelDsl.Plan.TrainingPlan Plan, CudaModule Module)> CudaPlans(out IReadOnlyList<string> without)
    {
        var modules = new List<(string, ModelDsl.Plan.TrainingPlan, CudaModule)>();
        var missing = new List<string>();
        var files = new[] { "examples", Path.Combine("tests", "CudaParity", "models") }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(RepositoryRoot, folder), "*.model", SearchOption.AllDirectories))
            .OrderBy(f => f, StringComparer.Ordinal);
        foreach (var file in files)
        {
            var result = ModelDsl.Compilation.Compile(file, File.ReadAllText(file));
            if (result.HasErrors) throw new InvalidOperationException($"{file} does not check: {result.Diagnostics.First(d => d.IsError)}");
            foreach (var model in result.Compiled)
            {
                if (model.Cuda is { } module && model.Plan is { } plan) modules.Add((model.Graph.Name, plan, module));
                else missing.Add(model.Graph.Name);
            }
        }
        without = missing;
        return modules;
    }
}

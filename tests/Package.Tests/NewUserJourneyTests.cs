using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ModelDsl.Tests.Shared;

namespace ModelDsl.Package.Tests;

/// <summary>
/// A new user's journey with the ModelDsl package, outside the repository: <c>dotnet new console</c>,
/// <c>dotnet add package ModelDsl</c>, drop in a .model file, <c>dotnet build</c>, <c>dotnet run</c>; then a mistake
/// in the model is a build error at its place, and <c>EmitCompilerGeneratedFiles</c> writes the generated code.
/// The package is packed from this build's outputs (no build of its own) into a folder feed. Restore goes to a
/// private packages folder, so no cached copy of ModelDsl can be picked up, with the machine's package folder as
/// a fallback for the dependencies (System.Numerics.Tensors) and the usual sources behind it.
/// </summary>
public sealed partial class NewUserJourneyTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(150);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modeldsl-journey-" + Guid.NewGuid().ToString("N"));

    public NewUserJourneyTests() => Directory.CreateDirectory(_directory);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public void NewConsoleProject_AddsThePackage_BuildsAModel_TrainsIt_AndGetsModelErrorsAtTheirPlace()
    {
        string root = PackageFeed.RepoRoot();
        string feed = Path.Combine(_directory, "feed");
        string packages = Path.Combine(_directory, "packages");
        string app = Path.Combine(_directory, "Journey");

        // The package: built with this test project; packed under a version no package folder can already hold.
        string version = PackageFeed.ReadVersion(root) + "-journey." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        Run(root, "pack", Path.Combine(root, "Packaging", "ModelDsl", "ModelDsl.csproj"), "-c", Configuration, "--no-build", "--no-restore", "-nologo", "-nodeReuse:false", "-o", feed, "-p:PackageVersion=" + version);
        string package = Assert.Single(Directory.GetFiles(feed, "*.nupkg"));
        Assert.Equal($"ModelDsl.{version}.nupkg", Path.GetFileName(package));
        AssertPackageLayout(root, package);
        // The trainer's package, beside it (docs/training.md): ModelDsl.Training at the same version.
        Run(root, "pack", Path.Combine(root, "Packaging", "ModelDsl.Training", "ModelDsl.Training.csproj"), "-c", Configuration, "--no-build", "--no-restore", "-nologo", "-nodeReuse:false", "-o", feed, "-p:PackageVersion=" + version);
        AssertTrainingPackageLayout(root, Path.Combine(feed, $"ModelDsl.Training.{version}.nupkg"), version);

        // The user's machine: a folder feed with ModelDsl next to the usual sources, and a fresh package folder.
        string machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(_directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{packages}" />
              </config>
              <packageSources>
                <add key="modeldsl-local" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machineCache}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages };

        // 1. dotnet new console; dotnet add package ModelDsl.
        Run(_directory, environment, "new", "console", "-n", "Journey", "-o", app, "--framework", "net10.0", "--no-restore");
        Run(app, environment, "add", "package", "ModelDsl", "--version", version);
        Run(app, environment, "add", "package", "ModelDsl.Training", "--version", version);
        Assert.True(Directory.Exists(Path.Combine(packages, "modeldsl", version)), "ModelDsl was not restored into the private package folder");

        // 2. A .model file (in a subfolder, as users keep them) and a program that trains the generated class.
        string modelText = File.ReadAllText(Path.Combine(root, "examples", "BinaryClassifier", "binary_classifier.model"));
        string model = Path.Combine(app, "Models", "binary_classifier.model");
        Directory.CreateDirectory(Path.GetDirectoryName(model)!);
        File.WriteAllText(model, modelText);
        File.WriteAllText(Path.Combine(app, "Program.cs"), ProgramText);

        // The package's props: the .model file is an additional file (one item: no duplicate None), RootNamespace
        // reaches the generator, and .model files under bin/ and obj/ are left alone (DefaultItemExcludes).
        Directory.CreateDirectory(Path.Combine(app, "bin"));
        File.WriteAllText(Path.Combine(app, "bin", "stale.model"), "model Stale {}");
        var (_, items) = Run(app, environment, "msbuild", "-nologo", "-nodeReuse:false", "-getItem:AdditionalFiles", "-getItem:None", "-getItem:CompilerVisibleProperty");
        string json = items.Substring(items.IndexOf('{', StringComparison.Ordinal));
        Assert.Contains("binary_classifier.model", json, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(json, @"""Identity"":\s*""Models[\\/]+binary_classifier\.model"""));
        Assert.DoesNotContain("stale.model", json, StringComparison.Ordinal);
        Assert.Contains("\"Identity\": \"RootNamespace\"", json, StringComparison.Ordinal);
        File.Delete(Path.Combine(app, "bin", "stale.model"));

        // 3. dotnet build; dotnet run: the loss goes down.
        string[] build = ["build", "-nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false", "-p:TreatWarningsAsErrors=true"];
        var (_, buildOutput) = Run(app, environment, build);
        Assert.DoesNotContain(": warning ", buildOutput, StringComparison.Ordinal);
        var (_, runOutput) = Run(app, environment, "run", "--no-build");
        double[] losses = LossLine().Matches(runOutput).Select(match => double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(losses.Length == 4, "expected four loss lines:" + Environment.NewLine + runOutput);
        Assert.True(losses.All(double.IsFinite), runOutput);
        for (int i = 1; i < losses.Length; i++)
        {
            Assert.True(losses[i] < losses[i - 1], "the loss did not decrease:" + Environment.NewLine + runOutput);
        }

        Assert.True(losses[^1] < 0.8 * losses[0], "the loss barely moved:" + Environment.NewLine + runOutput);

        // The trainer from its package: Fit with a validation split held out of the training rows.
        Match fit = FitLine().Match(runOutput);
        Assert.True(fit.Success, "no fit line:" + Environment.NewLine + runOutput);
        Assert.Equal("8", fit.Groups[1].Value);
        double firstValLoss = double.Parse(fit.Groups[2].Value, CultureInfo.InvariantCulture), lastValLoss = double.Parse(fit.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.True(lastValLoss < firstValLoss, "the validation loss did not decrease under Fit:" + Environment.NewLine + runOutput);
        Assert.Contains("epoch 8/8", runOutput, StringComparison.Ordinal);

        // The package's GPU half: the same model trained through its generated CUDA C (on the CPU emulator here, as no
        // GPU is assumed) gives the CPU's losses.
        var gpuLines = GpuLossLine().Matches(runOutput);
        Assert.True(gpuLines.Count == 5, "expected five GPU loss lines:" + Environment.NewLine + runOutput);
        foreach (Match match in gpuLines)
        {
            double cpu = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), gpu = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(cpu - gpu) <= 1e-4 + 1e-3 * Math.Abs(cpu), runOutput);
        }

        // 4. A mistake in the model: the build fails with the diagnostic at its line and column in the .model file.
        string broken = modelText.Replace("dense(hidden)", "dense(hiden)", StringComparison.Ordinal);
        Assert.NotEqual(modelText, broken);
        int offset = broken.IndexOf("hiden", StringComparison.Ordinal);
        int line = broken.AsSpan(0, offset).Count('\n') + 1;
        int column = offset - broken.LastIndexOf('\n', offset - 1);
        File.WriteAllText(model, broken);
        var (brokenExit, brokenOutput) = DotNet.Run(app, Timeout, environment, build);
        Assert.True(brokenExit != 0, "the build of a broken model should have failed:" + Environment.NewLine + brokenOutput);
        Assert.Contains($"binary_classifier.model({line},{column}): error MDL0100: 'hiden' is not defined", brokenOutput, StringComparison.Ordinal);
        // No repository path as a help link after the message: it means nothing in the user's project.
        Assert.DoesNotContain("docs/diagnostics.md", brokenOutput, StringComparison.Ordinal);
        // (Program.cs then misses the class a broken model does not generate: its CS0246 errors are expected, and a
        // generator crash, AD0001, is not.)
        Assert.DoesNotContain("AD0001", brokenOutput, StringComparison.Ordinal);

        // 5. Fixed again and built; then, with nothing changed, EmitCompilerGeneratedFiles=true still writes the
        // generated C# under obj/ (the option alone makes the compile run once).
        File.WriteAllText(model, modelText);
        Run(app, environment, build);
        string generatedFolder = Path.Combine(app, "obj", "Debug", "net10.0", "generated");
        Assert.False(Directory.Exists(generatedFolder), "generated files were written without EmitCompilerGeneratedFiles");
        Run(app, environment, [.. build, "-p:EmitCompilerGeneratedFiles=true"]);
        string generatedRoot = Path.Combine(app, "obj", "Debug", "net10.0", "generated");
        Assert.True(Directory.Exists(generatedRoot), "no generated files under " + generatedRoot);
        string[] generated = Directory.GetFiles(generatedRoot, "*.g.cs", SearchOption.AllDirectories);
        Assert.Contains(generated, path => path.Contains("ModelDsl.Generator", StringComparison.Ordinal));
        Assert.Contains(generated, path => File.ReadAllText(path).Contains("class BinaryClassifier", StringComparison.Ordinal));
    }

    /// <summary>
    /// A user's Program.cs: a fixed, learnable synthetic batch (the label is whether x0 + x1 &gt; 0), 60 Adam steps,
    /// the loss printed every 20th step; then 5 steps on the CPU and on the emulated GPU side by side.
    /// </summary>
    private const string ProgramText = """
        using System.Globalization;
        using Journey;
        using ModelDsl.Runtime;
        using ModelDsl.Runtime.Data;
        using ModelDsl.Training;

        const int batch = 64;
        var random = new Random(7);
        var features = new float[batch * 10];
        var labels = new float[batch];
        for (int i = 0; i < batch; i++)
        {
            for (int j = 0; j < 10; j++) features[i * 10 + j] = (float)(random.NextDouble() * 2 - 1);
            labels[i] = features[i * 10] + features[i * 10 + 1] > 0 ? 1f : 0f;
        }

        var model = new BinaryClassifier(seed: 1);
        var x = new Tensor(features, batch, 10);
        var y = new Tensor(labels, batch, 1);
        for (int step = 0; step <= 60; step++)
        {
            float loss = model.TrainStep(x, y);
            if (step % 20 == 0) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step} loss {loss:R}"));
        }

        // The trainer package's one call: 16 of the 64 rows held out for validation, 8 epochs of batch 16.
        var fitted = new BinaryClassifier(seed: 3);
        var history = fitted.Fit(fitted.TrainStep, fitted.Evaluate, new Dataset(features, 10, targets: labels, targetCount: 1),
            epochs: 8, batchSize: 16, validationSplit: 0.25, display: TrainerDisplay.Plain);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fit epochs {history.Epochs.Count} val_loss {history.Epochs[0].ValLoss:R} -> {history.Epochs[^1].ValLoss:R}"));

        // The same steps on the GPU half: the CPU emulator of the generated CUDA C (GpuContext.OpenCuda() on a GPU).
        using var device = ModelDsl.Cuda.GpuContext.OpenEmulated();
        var cpuModel = new BinaryClassifier(seed: 2);
        using var gpu = new BinaryClassifier(seed: 2).ToGpu(device);
        for (int step = 0; step < 5; step++)
        {
            float cpuLoss = cpuModel.TrainStep(x, y), gpuLoss = gpu.TrainStep(x, y);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gpu step {step} cpu {cpuLoss:R} gpu {gpuLoss:R}"));
        }
        """;

    [GeneratedRegex(@"^step \d+ loss (\S+)\r?$", RegexOptions.Multiline)]
    private static partial Regex LossLine();

    [GeneratedRegex(@"^fit epochs (\d+) val_loss (\S+) -> (\S+)\r?$", RegexOptions.Multiline)]
    private static partial Regex FitLine();

    [GeneratedRegex(@"^gpu step \d+ cpu (\S+) gpu (\S+)\r?$", RegexOptions.Multiline)]
    private static partial Regex GpuLossLine();

    /// <summary>The manifest resource names of the assembly at <paramref name="entry"/> in the package.</summary>
    private static IReadOnlyList<string> ManifestResources(ZipArchive zip, string entry)
    {
        using var copy = new MemoryStream();
        using (Stream stream = zip.Entries.Single(e => e.FullName == entry).Open()) stream.CopyTo(copy);
        copy.Position = 0;
        using var pe = new System.Reflection.PortableExecutable.PEReader(copy);
        var metadata = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        return metadata.ManifestResources.Select(handle => metadata.GetString(metadata.GetManifestResource(handle).Name)).ToList();
    }

    private static void AssertPackageLayout(string root, string package)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        string[] entries = zip.Entries.Select(entry => entry.FullName).ToArray();
        string listing = string.Join(Environment.NewLine, entries);
        foreach (string expected in new[]
        {
            "lib/net10.0/ModelDsl.Runtime.dll",
            "lib/net10.0/ModelDsl.Cuda.dll",
            "analyzers/dotnet/cs/ModelDsl.Generator.dll",
            "analyzers/dotnet/cs/ModelDsl.Dsl.dll",
            "analyzers/dotnet/cs/Sprache.dll",
            "build/ModelDsl.props",
            "build/ModelDsl.targets",
            "buildTransitive/ModelDsl.props",
            "buildTransitive/ModelDsl.targets",
        })
        {
            Assert.True(entries.Contains(expected), $"{expected} is not in the package:{Environment.NewLine}{listing}");
        }

        // The CUDA layer library (Cuda/Kernels/*.cuh) travels inside both assemblies: the generator pastes the families a
        // model uses into its .cu from ModelDsl.Dsl, and the launchers check their launches against it in ModelDsl.Cuda.
        string[] kernelFiles = Directory.GetFiles(Path.Combine(root, "Cuda", "Kernels"), "*.cuh").Select(Path.GetFileName).OfType<string>().ToArray();
        Assert.NotEmpty(kernelFiles);
        var dslResources = ManifestResources(zip, "analyzers/dotnet/cs/ModelDsl.Dsl.dll");
        var cudaResources = ManifestResources(zip, "lib/net10.0/ModelDsl.Cuda.dll");
        foreach (string file in kernelFiles)
        {
            Assert.Contains("ModelDsl.Kernels." + file, dslResources);
            Assert.Contains("ModelDsl.Cuda.Kernels." + file, cudaResources);
        }

        // Nothing of the packaging project itself, and no generator or its dependencies as a library of the user's.
        Assert.DoesNotContain(entries, entry => entry.Contains("ModelDsl.Package", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, entry => entry.StartsWith("lib/", StringComparison.Ordinal)
            && !entry.StartsWith("lib/net10.0/ModelDsl.Runtime.", StringComparison.Ordinal) && !entry.StartsWith("lib/net10.0/ModelDsl.Cuda.", StringComparison.Ordinal));

        // The runtime's dependency is declared; nothing else is (the generator's travel inside analyzers/).
        using Stream nuspecStream = zip.Entries.Single(entry => entry.FullName == "ModelDsl.nuspec").Open();
        XDocument nuspec = XDocument.Load(nuspecStream);
        var dependencies = nuspec.Descendants().Where(element => element.Name.LocalName == "dependency").ToArray();
        var dependency = Assert.Single(dependencies);
        Assert.Equal("System.Numerics.Tensors", (string?)dependency.Attribute("id"));
        Assert.Equal("net10.0", (string?)dependency.Parent!.Attribute("targetFramework"));
        string runtimeProject = File.ReadAllText(Path.Combine(root, "Runtime", "Runtime.csproj"));
        Assert.Contains($"Include=\"System.Numerics.Tensors\" Version=\"{(string?)dependency.Attribute("version")}\"", runtimeProject, StringComparison.Ordinal);
    }

    private static void AssertTrainingPackageLayout(string root, string package, string version)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        string[] entries = zip.Entries.Select(entry => entry.FullName).ToArray();
        Assert.Contains("lib/net10.0/ModelDsl.Trainer.dll", entries);
        Assert.DoesNotContain(entries, entry => entry.StartsWith("lib/", StringComparison.Ordinal) && !entry.StartsWith("lib/net10.0/ModelDsl.Trainer.", StringComparison.Ordinal));

        // ModelDsl at the same version with all its assets (the generator and build props flow through), and the
        // trainer's own packages as Trainer/Trainer.Dependencies.props lists them.
        using Stream nuspecStream = zip.Entries.Single(entry => entry.FullName == "ModelDsl.Training.nuspec").Open();
        var dependencies = XDocument.Load(nuspecStream).Descendants().Where(element => element.Name.LocalName == "dependency")
            .ToDictionary(element => (string)element.Attribute("id")!, element => element);
        Assert.Equal(version, (string?)dependencies["ModelDsl"].Attribute("version"));
        Assert.Null(dependencies["ModelDsl"].Attribute("exclude"));
        var listed = XDocument.Load(Path.Combine(root, "Trainer", "Trainer.Dependencies.props")).Descendants("PackageReference")
            .ToDictionary(element => (string)element.Attribute("Include")!, element => (string)element.Attribute("Version")!);
        Assert.Equal(listed.Keys.Append("ModelDsl").Order(), dependencies.Keys.Order());
        foreach (var (id, dependencyVersion) in listed) Assert.Equal(dependencyVersion, (string?)dependencies[id].Attribute("version"));
    }

    private static (int ExitCode, string Output) Run(string directory, params string[] arguments) => Run(directory, null, arguments);

    private static (int ExitCode, string Output) Run(string directory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var (exitCode, output) = DotNet.Run(directory, Timeout, environment, arguments);
        Assert.True(exitCode == 0, $"dotnet {arguments[0]} failed (exit code {exitCode}):{Environment.NewLine}{output}");
        return (exitCode, output);
    }
}

using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using ModelDsl.Generator.Tests.Support;
using ModelDsl.Tests.Shared;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// The generator in a real <c>dotnet build</c>: a consumer project references it the way a user would, and
/// a packed ModelDsl.Generator.nupkg carries the generator with its dependencies. These spawn the dotnet CLI
/// (offline: the referenced projects are already built by this test project's build) and take a few seconds each.
/// </summary>
public sealed class BuildIntegrationTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modeldsl-it-" + Guid.NewGuid().ToString("N"));

    public BuildIntegrationTests() => Directory.CreateDirectory(_directory);

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
    public void ConsumerBuild_RunsTheGenerator_AndReportsModelErrorsAtTheirPlace()
    {
        string root = RepoPaths.Root;
        string project = Path.Combine(_directory, "Consumer.csproj");
        File.WriteAllText(project, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="{Path.Combine(root, "Generator", "build", "ModelDsl.Generator.props")}" />
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <RootNamespace>Consumer</RootNamespace>
                <Nullable>enable</Nullable>
                <ImplicitUsings>disable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{Path.Combine(root, "Generator", "Generator.csproj")}" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
                <ProjectReference Include="{Path.Combine(root, "Runtime", "Runtime.csproj")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_directory, "Program.cs"), """
            namespace Consumer;

            public static class Program
            {
                public static void Main()
                {
                    System.Console.Write(FashionMlp.Description.Summary());
                    System.Console.WriteLine("ParameterCount=" + FashionMlp.ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            """);
        Directory.CreateDirectory(Path.Combine(_directory, "models"));
        File.Copy(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model"), Path.Combine(_directory, "models", "fashion_mlp.model"));

        // The referenced projects were built with this test project; building them again would race other builds.
        string[] build = ["build", project, "-c", Configuration, "-nologo", "-p:BuildProjectReferences=false", "-p:UseSharedCompilation=false", "-p:RestoreIgnoreFailedSources=true", "-nodeReuse:false"];
        var (exitCode, output) = DotNet.Run(_directory, Timeout, build);
        Assert.True(exitCode == 0, "dotnet build failed:" + Environment.NewLine + output);

        string assembly = Path.Combine(_directory, "bin", Configuration, "net10.0", "Consumer.dll");
        var (runExit, runOutput) = DotNet.Run(_directory, Timeout, assembly);
        Assert.True(runExit == 0, runOutput);
        Assert.Contains("FashionMlp (fashion_mlp.model:8)", runOutput, StringComparison.Ordinal);
        Assert.Contains("ParameterCount=269322", runOutput, StringComparison.Ordinal);

        // A broken model next to the good one: the build fails with our diagnostic at the exact line and column,
        // in the form msbuild prints compiler errors, and nothing else fails.
        File.WriteAllText(Path.Combine(_directory, "models", "broken.model"), GeneratorTests.BrokenModel);
        (exitCode, output) = DotNet.Run(_directory, Timeout, build);
        Assert.True(exitCode != 0, "dotnet build should have failed:" + Environment.NewLine + output);
        Assert.Contains($"broken.model({GeneratorTests.BrokenLine},{GeneratorTests.BrokenColumn}): error {GeneratorTests.BrokenId}:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("error CS", output, StringComparison.Ordinal);
        Assert.DoesNotContain("AD0001", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Pack_PutsTheGeneratorAndItsDependenciesInAnalyzers_AndTheyLoadFromThePackage()
    {
        var (exitCode, output) = DotNet.Run(
            RepoPaths.Root,
            Timeout,
            "pack", RepoPaths.Combine("Generator", "Generator.csproj"), "-c", Configuration, "--no-build", "-nologo", "-o", _directory, "-nodeReuse:false");
        Assert.True(exitCode == 0, "dotnet pack failed:" + Environment.NewLine + output);

        string package = Assert.Single(Directory.GetFiles(_directory, "ModelDsl.Generator.*.nupkg"));
        using ZipArchive zip = ZipFile.OpenRead(package);
        string[] entries = zip.Entries.Select(entry => entry.FullName).ToArray();
        Assert.Contains("analyzers/dotnet/cs/ModelDsl.Generator.dll", entries);
        Assert.Contains("analyzers/dotnet/cs/ModelDsl.Dsl.dll", entries);
        Assert.Contains("analyzers/dotnet/cs/Sprache.dll", entries);
        Assert.Contains("build/ModelDsl.Generator.props", entries);
        Assert.DoesNotContain(entries, entry => entry.StartsWith("lib/", StringComparison.Ordinal));

        // A consumer of the package: the compiler must load the generator and its dependencies from
        // analyzers/dotnet/cs, and the package's props must make the .model file an additional file. Restored
        // offline, from the pack folder plus the machine's package cache used as a feed, into a private packages
        // folder so the cache never holds a stale copy of ModelDsl.Generator.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string version = Path.GetFileNameWithoutExtension(package).Substring("ModelDsl.Generator.".Length);
        string consumer = Path.Combine(_directory, "consumer");
        Directory.CreateDirectory(consumer);
        File.WriteAllText(Path.Combine(consumer, "PackageConsumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <RootNamespace>PackageConsumer</RootNamespace>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <RestoreSources>{_directory};{cache}</RestoreSources>
                <RestorePackagesPath>{Path.Combine(_directory, "packages")}</RestorePackagesPath>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ModelDsl.Generator" Version="{version}" />
                <ProjectReference Include="{RepoPaths.Combine("Runtime", "Runtime.csproj")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Uses.cs"), "namespace PackageConsumer; public static class Uses { public const long Count = FashionMlp.ParameterCount; }");
        File.Copy(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model"), Path.Combine(consumer, "fashion_mlp.model"));

        (exitCode, output) = DotNet.Run(consumer, Timeout, "build", "-c", Configuration, "-nologo", "-p:BuildProjectReferences=false", "-p:UseSharedCompilation=false", "-nodeReuse:false");
        Assert.True(exitCode == 0, "build against the package failed:" + Environment.NewLine + output);
    }
}

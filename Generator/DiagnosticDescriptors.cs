using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.CodeAnalysis;
using DslCatalog = ModelDsl.Diagnostics.DiagnosticCatalog;
using DslDescriptor = ModelDsl.Diagnostics.DiagnosticDescriptor;
using DslSeverity = ModelDsl.Diagnostics.DiagnosticSeverity;

namespace ModelDsl.Generator
{
    /// <summary>
    /// The Roslyn descriptors the generator reports: one per entry of the front end's
    /// <see cref="DslCatalog"/> (same ID, title, severity and category; the message is built by the front end,
    /// so every format is <c>{0}</c>), plus <see cref="InternalError"/>, which only the generator can report.
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        /// <summary>
        /// No help link: the project has no published documentation address, and a repository path
        /// (<c>docs/diagnostics.md#mdl0100</c>) means nothing inside a user's project, where MSBuild would print it
        /// after every message. The ID is the stable key: docs/diagnostics.md has one heading per ID (search for it).
        /// Set a URL here once the docs are published at a fixed address.
        /// </summary>
        private const string? HelpLinkUri = null;

        /// <summary>
        /// MDL9999: the generator itself failed on a file. A defect, never the user's fault: reported instead of
        /// letting the exception escape (which the compiler would report as a generator failure, with no location).
        /// </summary>
        public static readonly DiagnosticDescriptor InternalError = new DiagnosticDescriptor(
            id: "MDL9999",
            title: "Internal compiler error",
            messageFormat: "{0}",
            category: "ModelDsl.Internal",
            defaultSeverity: DiagnosticSeverity.Error,
            isEnabledByDefault: true,
            description: null,
            helpLinkUri: HelpLinkUri,
            customTags: WellKnownDiagnosticTags.NotConfigurable);

        /// <summary>The text of an MDL9999: the exception's type and message.</summary>
        public static string InternalErrorMessage(System.Exception exception) =>
            string.Format(
                CultureInfo.InvariantCulture,
                "Internal compiler error in the ModelDsl generator: {0}: {1} Please report this with the .model file.",
                exception.GetType().FullName,
                exception.Message);

        /// <summary>Every catalogue descriptor, by ID.</summary>
        public static ImmutableDictionary<string, DiagnosticDescriptor> ById { get; } = CreateAll();

        /// <summary>The Roslyn descriptor for a front-end descriptor.</summary>
        public static DiagnosticDescriptor For(DslDescriptor descriptor) =>
            ById.TryGetValue(descriptor.Id, out DiagnosticDescriptor? known) ? known : Create(descriptor);

        private static ImmutableDictionary<string, DiagnosticDescriptor> CreateAll()
        {
            var builder = ImmutableDictionary.CreateBuilder<string, DiagnosticDescriptor>(System.StringComparer.Ordinal);
            foreach (DslDescriptor descriptor in DslCatalog.All)
            {
                builder[descriptor.Id] = Create(descriptor);
            }

            return builder.ToImmutable();
        }

        private static DiagnosticDescriptor Create(DslDescriptor descriptor)
        {
            bool isError = descriptor.Severity == DslSeverity.Error;
            return new DiagnosticDescriptor(
                id: descriptor.Id,
                title: descriptor.Title,
                messageFormat: "{0}",
                category: descriptor.Category,
                defaultSeverity: isError ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
                isEnabledByDefault: true,
                description: null,
                helpLinkUri: HelpLinkUri,
                customTags: isError ? new[] { WellKnownDiagnosticTags.NotConfigurable } : new string[0]);
        }

        /// <summary>All descriptors, catalogue order then MDL9999 (for tests and documentation checks).</summary>
        public static IEnumerable<DiagnosticDescriptor> All
        {
            get
            {
                foreach (DslDescriptor descriptor in DslCatalog.All)
                {
                    yield return ById[descriptor.Id];
                }

                yield return InternalError;
            }
        }
    }
}

using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ModelDsl.Generator.Helpers
{
    /// <summary>
    /// A diagnostic as equatable data, so it can travel down the incremental pipeline (STJ's Helpers/DiagnosticInfo.cs).
    /// A Roslyn <see cref="Diagnostic"/> or <see cref="Location"/> would compare by reference and defeat caching;
    /// this keeps the location as its parts and rebuilds it only when reported.
    /// </summary>
    public sealed record DiagnosticInfo
    {
        public required DiagnosticDescriptor Descriptor { get; init; }

        /// <summary>The message: every descriptor's format is <c>{0}</c>, so this is the whole text.</summary>
        public required string Message { get; init; }

        /// <summary>The <c>.model</c> file's path as the compiler was given it.</summary>
        public required string FilePath { get; init; }

        public required TextSpan Span { get; init; }

        public required LinePositionSpan LineSpan { get; init; }

        /// <summary>A location in the <c>.model</c> file, so <c>dotnet build</c> prints <c>file.model(12,5): error MDL0007: ...</c>.</summary>
        public Location GetLocation() => Location.Create(FilePath, Span, LineSpan);

        public Diagnostic CreateDiagnostic() => Diagnostic.Create(Descriptor, GetLocation(), Message);

        public bool Equals(DiagnosticInfo? other) =>
            other is not null &&
            Descriptor.Equals(other.Descriptor) &&
            string.Equals(Message, other.Message, StringComparison.Ordinal) &&
            string.Equals(FilePath, other.FilePath, StringComparison.Ordinal) &&
            Span.Equals(other.Span) &&
            LineSpan.Equals(other.LineSpan);

        public override int GetHashCode()
        {
            int hash = Descriptor.GetHashCode();
            hash = unchecked(hash * 31 + StringComparer.Ordinal.GetHashCode(Message));
            hash = unchecked(hash * 31 + StringComparer.Ordinal.GetHashCode(FilePath));
            hash = unchecked(hash * 31 + Span.GetHashCode());
            return unchecked(hash * 31 + LineSpan.GetHashCode());
        }
    }
}

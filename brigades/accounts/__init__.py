"""Staff accounts and access: roles, logins (web and API), the scope every query applies.

For other domains, the contract is:

- routes: ``CurrentUser``, ``CurrentUserOptional``, ``CurrentScope``, ``require_roles(*roles)``,
  ``AdminUser``, ``CsrfForm`` from :mod:`brigades.accounts.deps`;
- repositories: the :class:`~brigades.accounts.scope.AccessScope` methods
  ``filter_by_region``, ``filter_support_points``, ``filter_organisation``,
  ``filter_volunteers`` (queries) and ``require_region``, ``require_volunteer``,
  ``require_organisation`` (one object: NotFound outside the scope), ``require_write``;
- auditing: ``brigades.audit.service.record(..., actor=accounts.service.actor_for(user))``;
- pages: extend ``templates/accounts/_beheer.html`` and pass ``current_user`` for the menu.
"""

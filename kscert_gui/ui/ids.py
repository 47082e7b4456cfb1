"""Stable objectName constants for every page and interactive widget (STYLE habit 6).

Tests, screen readers and UI automation find widgets by these names; change a
value only together with everything that looks it up.
"""

from __future__ import annotations

# --- main window --------------------------------------------------------------------------
MAIN_WINDOW = "mainWindow"
CONSOLE_TREE = "consoleTree"
NODE_SERVER = "nodeAdministrationServer"
NODE_DEVICES = "nodeManagedDevices"
SUMMARY_PANE = "summaryPane"
SUMMARY_PROPERTIES_BUTTON = "summaryPropertiesButton"
ACTION_PROPERTIES = "actionProperties"
ACTION_REFRESH = "actionRefresh"
ACTION_QUIT = "actionQuit"
STATUS_VALID_TO = "statusValidTo"
STATUS_MODE = "statusMode"
BUSY_BAR = "busyBar"

# --- Properties window --------------------------------------------------------------------
PROPERTIES_WINDOW = "propertiesWindow"
SECTIONS_PANE = "sectionsPane"
SECTION_CONNECTION = "sectionConnectionSettings"
SECTION_CERTIFICATES = "sectionCertificates"
SECTION_DISTRIBUTION_POINTS = "sectionDistributionPoints"
PROPERTIES_PAGES = "propertiesPages"
PROPERTIES_BUTTONS = "propertiesButtons"

# --- Certificates page --------------------------------------------------------------------
PAGE_CERTIFICATES = "pageCertificates"
GROUP_MOBILE_AUTH = "groupMobileAuthentication"
RADIO_ISSUED = "radioCertificateIssued"
RADIO_OTHER = "radioOtherCertificate"
BUTTON_REISSUE = "buttonReissue"
BUTTON_BROWSE_OTHER = "buttonBrowseOtherCertificate"
GROUP_CURRENT = "groupCurrentCertificate"
LABEL_SUBJECT = "labelSubject"
LABEL_SAN = "labelSubjectAltNames"
LABEL_VALID_FROM = "labelValidFrom"
LABEL_VALID_TO = "labelValidTo"
LABEL_DAYS_LEFT = "labelDaysLeft"
LABEL_SHA256 = "labelSha256"
LABEL_SOURCE = "labelSource"
GROUP_RESERVE = "groupReserveCertificate"
LABEL_RESERVE_SUBJECT = "labelReserveSubject"
LABEL_RESERVE_VALID_FROM = "labelReserveValidFrom"
LABEL_RESERVE_VALID_TO = "labelReserveValidTo"
LABEL_SWITCH_AT = "labelSwitchTime"
LABEL_DELIVERY = "labelDelivery"
BUTTON_VIEW_CERTIFICATE = "buttonViewCertificate"
BUTTON_VIEW_RESERVE = "buttonViewReserveCertificate"
BUTTON_CANCEL_RESERVE = "buttonCancelReserve"
TIMELINE = "certificateTimeline"
WARNINGS_LIST = "warningsList"

# --- Distribution points page ---------------------------------------------------------------
PAGE_DISTRIBUTION_POINTS = "pageDistributionPoints"
GATEWAYS_TABLE = "gatewaysTable"

# --- Reissue certificate window -----------------------------------------------------------
REISSUE_DIALOG = "reissueDialog"
GROUP_ADDRESS = "groupConnectionAddress"
RADIO_OLD_ADDRESS = "radioUseOldAddress"
RADIO_NEW_ADDRESS = "radioChangeAddress"
EDIT_ADDRESS = "editConnectionAddress"
LABEL_ADDRESS_ERROR = "labelAddressError"
COMBO_KEY_SIZE = "comboKeyLength"
GROUP_TERM = "groupActivationTerm"
RADIO_IMMEDIATELY = "radioImmediately"
RADIO_AFTER_DAYS = "radioAfterPeriod"
SPIN_DAYS = "spinActivationDays"
TERM_ISSUES = "termIssues"
DIALOG_BUTTONS = "dialogButtons"

# --- Certificate window (Other certificate) -----------------------------------------------
CERTIFICATE_DIALOG = "certificateDialog"
COMBO_CERT_TYPE = "comboCertificateType"
EDIT_P12_FILE = "editCertificateFile"
BUTTON_P12_BROWSE = "buttonCertificateFileBrowse"
EDIT_P12_PASSWORD = "editPkcs12Password"
EDIT_KEY_FILE = "editPrivateKeyFile"
BUTTON_KEY_BROWSE = "buttonPrivateKeyBrowse"
EDIT_KEY_PASSWORD = "editPrivateKeyPassword"
EDIT_CERT_FILE = "editPublicKeyFile"
BUTTON_CERT_BROWSE = "buttonPublicKeyBrowse"
FINDINGS_TABLE = "findingsTable"
LABEL_CHECK_STATUS = "labelCheckStatus"
CHECK_ACKNOWLEDGE = "checkAcknowledgeWarnings"

# --- Certificate viewer -------------------------------------------------------------------
VIEWER_DIALOG = "certificateViewer"
VIEWER_TABS = "viewerTabs"
VIEWER_GENERAL = "viewerGeneral"
VIEWER_DETAILS = "viewerDetails"
VIEWER_DETAILS_TABLE = "viewerDetailsTable"
VIEWER_DETAILS_TEXT = "viewerDetailsText"
VIEWER_PATH = "viewerCertificationPath"
VIEWER_PATH_TREE = "viewerPathTree"
BUTTON_EXPORT = "buttonExport"
BUTTON_COPY_DETAILS = "buttonCopyDetails"

# --- Export window ------------------------------------------------------------------------
EXPORT_DIALOG = "exportDialog"
RADIO_EXPORT_PEM = "radioExportPem"
RADIO_EXPORT_DER = "radioExportDer"
RADIO_EXPORT_P12 = "radioExportPkcs12"
COMBO_P12_ENCRYPTION = "comboPkcs12Encryption"
EDIT_EXPORT_PASSWORD = "editExportPassword"
EDIT_EXPORT_PASSWORD_AGAIN = "editExportPasswordAgain"
EDIT_EXPORT_FILE = "editExportFile"
BUTTON_EXPORT_BROWSE = "buttonExportBrowse"
LABEL_EXPORT_ERROR = "labelExportError"

# --- message boxes ------------------------------------------------------------------------
MESSAGE_ERROR = "messageError"
MESSAGE_INFO = "messageInfo"
MESSAGE_CONFIRM = "messageConfirm"
